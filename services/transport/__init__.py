"""Transport: transfers from the border to the home province."""
