from . import test_daily_run
