from . import collection_credit_hold_rule
from . import collection_case
from . import collection_run
from . import res_partner
from . import sale_order
from . import payment_transaction
