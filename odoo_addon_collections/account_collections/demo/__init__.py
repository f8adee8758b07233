from . import collection_demo
