from . import collection_log_call
from . import collection_setup
from . import collection_agency_hand_over
from . import collection_agency_recover
from . import collection_fee_waive
