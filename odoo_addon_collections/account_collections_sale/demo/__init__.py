from . import collection_sale_demo
