from . import test_configuration
from . import test_portal
from . import test_daily_run
from . import test_statement
from . import test_assignment
from . import test_same_policy
from . import test_phrases
from . import test_aged_receivable
