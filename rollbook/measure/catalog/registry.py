"""The one dispatch: every kind of schema object rollbook snapshots and compares, in the order
differences are listed. Adding a kind is adding a module with its `Kind` and naming it here."""
from __future__ import annotations

from rollbook.measure.catalog.access_methods import ACCESS_METHODS
from rollbook.measure.catalog.base import Kind
from rollbook.measure.catalog.casts import CASTS
from rollbook.measure.catalog.collations import COLLATIONS
from rollbook.measure.catalog.column_order import COLUMN_ORDER
from rollbook.measure.catalog.comments import COMMENTS
from rollbook.measure.catalog.constraints import CONSTRAINTS
from rollbook.measure.catalog.conversions import CONVERSIONS
from rollbook.measure.catalog.database import DATABASE
from rollbook.measure.catalog.default_privileges import DEFAULT_PRIVILEGES
from rollbook.measure.catalog.extensions import EXTENSIONS
from rollbook.measure.catalog.foreign_data import (
    FOREIGN_TABLES,
    SERVERS,
    USER_MAPPINGS,
    WRAPPERS,
)
from rollbook.measure.catalog.grants import GRANTS
from rollbook.measure.catalog.indexes import INDEXES
from rollbook.measure.catalog.namespaces import NAMESPACES
from rollbook.measure.catalog.operators import OPERATOR_CLASSES, OPERATOR_FAMILIES, OPERATORS
from rollbook.measure.catalog.owners import OWNERS
from rollbook.measure.catalog.policies import POLICIES
from rollbook.measure.catalog.publications import PUBLICATION_TABLES, PUBLICATIONS
from rollbook.measure.catalog.routines import FUNCTIONS, PROCEDURES
from rollbook.measure.catalog.sequences import SEQUENCES
from rollbook.measure.catalog.statistics import STATISTICS
from rollbook.measure.catalog.subscriptions import SUBSCRIPTIONS
from rollbook.measure.catalog.tables import TABLE_OPTIONS, TABLES
from rollbook.measure.catalog.text_search import (
    CONFIGURATIONS,
    DICTIONARIES,
    PARSERS,
    TEMPLATES,
)
from rollbook.measure.catalog.triggers import EVENT_TRIGGERS, RULES, TRIGGERS
from rollbook.measure.catalog.types import TYPES
from rollbook.measure.catalog.views import VIEWS

KINDS: tuple[Kind, ...] = (
    DATABASE, NAMESPACES, EXTENSIONS, TYPES, TABLES, TABLE_OPTIONS, COLUMN_ORDER, CONSTRAINTS,
    INDEXES, STATISTICS, SEQUENCES, VIEWS, TRIGGERS, RULES, POLICIES, FUNCTIONS, PROCEDURES,
    EVENT_TRIGGERS, ACCESS_METHODS, COLLATIONS, CONVERSIONS, OPERATORS, OPERATOR_FAMILIES,
    OPERATOR_CLASSES, CASTS, TEMPLATES, PARSERS, DICTIONARIES, CONFIGURATIONS, WRAPPERS,
    SERVERS, USER_MAPPINGS, FOREIGN_TABLES, PUBLICATIONS, PUBLICATION_TABLES, SUBSCRIPTIONS,
    OWNERS, GRANTS, DEFAULT_PRIVILEGES, COMMENTS)
# Kinds whose objects others hang off: one missing as a whole is said once, not again for
# what belongs to it (a relation's columns, constraints, ...; anything's owner, grants, comment).
RELATIONS = (TABLES, VIEWS, FOREIGN_TABLES)
OWNED = (NAMESPACES, TYPES, FUNCTIONS, PROCEDURES, EVENT_TRIGGERS, STATISTICS, ACCESS_METHODS,
         COLLATIONS, CONVERSIONS,
         OPERATORS, OPERATOR_FAMILIES, OPERATOR_CLASSES, CASTS, TEMPLATES, PARSERS,
         DICTIONARIES, CONFIGURATIONS, WRAPPERS, SERVERS, PUBLICATIONS, SUBSCRIPTIONS)
BY_KEY = {kind.key: kind for kind in KINDS}
# Difference kinds, as a difference line starts ("column" comes from the tables comparator).
DIFFERENCE_KINDS = tuple(dict.fromkeys(
    name for kind in KINDS for name in (("table", "column") if kind is TABLES else (kind.name,))))
