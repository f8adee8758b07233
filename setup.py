"""Distribution `odoo-collections`: the collections engine, the connectors and the CLI.

The engine alone, for Odoo's virtualenv, is the distribution `odoo-collections-engine` built
from packaging/engine (same package, python-dateutil only): an environment has one or the other.
"""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent

setup(
    name="odoo-collections",
    version="0.1.0",
    description="Collections management (gestión de cobranza) for Odoo, QuickBooks Online, Xero and Zoho Books",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="LGPL-3.0-or-later",
    python_requires=">=3.10",
    packages=find_packages(include=["collections_engine", "collections_engine.*", "connectors", "connectors.*"]),
    package_data={
        "collections_engine": ["py.typed"],
        "connectors": ["py.typed", "locale/*/LC_MESSAGES/*.po"],
        "connectors.common": ["migrations/*.py", "migrations/*.mako", "migrations/versions/*.py"],
        "connectors.files": ["data/*.csv", "data/*.md"],
    },
    install_requires=[
        "python-dateutil>=2.8",
        "tzdata>=2023.3",
        "click>=8.1",
        "rich>=13",
        "SQLAlchemy>=2.0",
        "alembic>=1.12",
        "openpyxl>=3.1",
        "python-calamine>=0.2",  # reads XLSX ledgers many times quicker than openpyxl
        "Babel>=2.10",  # the CLI's and the report's translations, numbers and dates
        "cryptography>=41",
    ],
    extras_require={
        "holidays": ["holidays>=0.50"],  # public holidays of contact presets (pure Python, on python-dateutil)
        "postgresql": ["psycopg2-binary>=2.9"],
        "celery": ["celery[redis]>=5.3", "redis>=5"],
        "quickbooks": ["python-quickbooks>=0.9", "intuit-oauth>=1.2"],
        "xero": ["xero-python>=6"],
        "zoho": ["httpx>=0.27"],
        "odoo": ["odoorpc>=0.10"],
        "webhooks": ["uvicorn>=0.30"],
        "test": [
            "pytest>=8",
            "hypothesis>=6.100",
            "mypy>=1.10",
            "ruff>=0.5",
            "freezegun>=1.4",
            "polib>=1.1",
            "holidays>=0.50",
            # tests/test_packaging.py builds the engine's and the addons' wheels without build isolation
            "setuptools>=77",
            "whool>=1.2",
            # the connectors' tests run the real SDKs, a real Celery worker and Redis
            "celery[redis]>=5.3",
            "redis>=5",
            "python-quickbooks>=0.9",
            "intuit-oauth>=1.2",
            "xero-python>=6",
            "httpx>=0.27",
            "odoorpc>=0.10",
            # the store's tests run on a real PostgreSQL too
            "psycopg2-binary>=2.9",
        ],
    },
    entry_points={
        "console_scripts": ["odoo-collections=connectors.cli:main"],
        # A platform registers here and nowhere else (see connectors/common/contract.py).
        "odoo_collections.platforms": [
            "files = connectors.files.platform:SPEC",
            "quickbooks = connectors.quickbooks.platform:SPEC",
            "xero = connectors.xero.platform:SPEC",
            "zoho = connectors.zoho.platform:SPEC",
        ],
    },
    classifiers=[
        "Framework :: Odoo",
        "Framework :: Odoo :: 18.0",
        "Programming Language :: Python :: 3",
        "Topic :: Office/Business :: Financial :: Accounting",
    ],
)
