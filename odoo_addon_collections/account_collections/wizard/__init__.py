from . import collection_log_call
