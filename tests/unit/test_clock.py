from datetime import UTC, datetime, timedelta

from shared.clock import Clock


def test_demo_clock_runs_faster_from_its_epoch():
    epoch = datetime.now(UTC) - timedelta(seconds=60)
    clock = Clock(speed=1440, epoch=epoch)  # a day a minute
    elapsed = clock.now() - epoch
    assert timedelta(hours=23, minutes=59) < elapsed < timedelta(hours=24, minutes=30)


def test_advance_and_cambodian_date():
    clock = Clock(epoch=datetime(2026, 1, 1, 16, 59, tzinfo=UTC))
    clock.advance(datetime(2026, 1, 1, 16, 59, tzinfo=UTC) - datetime.now(UTC))  # freeze near the epoch
    assert clock.today().isoformat() == "2026-01-01"  # 23:59 in Phnom Penh
    clock.advance(timedelta(minutes=2))
    assert clock.today().isoformat() == "2026-01-02"
