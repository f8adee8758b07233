from . import collection_credit_hold_manual
from . import collection_credit_hold_override
