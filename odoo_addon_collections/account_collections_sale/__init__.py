from . import models
from . import wizard
from . import demo
