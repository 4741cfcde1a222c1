"""Dashboard: a read model of every topic, the provincial dashboards and the daily situation report."""
