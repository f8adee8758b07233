from . import collection_log_call
from . import collection_setup
