from . import collection_letter_report
from . import collection_aged_receivable
from . import collection_experiment_report
from . import collection_statement_report
