"""xAPI documents in the state database: State, Activity Profile and Agent Profile documents, and the
Activity definitions merged from statements (Communication 2.3–2.7).

Long IRIs and agent identifiers do not fit a B-tree index everywhere, so rows are found by hashes:
``key`` names one document (kind, activity, agent, registration, document id), ``scope`` the set a
multiple-document GET or DELETE works on (the same without the document id).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eduops.db import Base, JSONText, UTCDateTime


class XapiDocument(Base):
    __tablename__ = "xapi_documents"
    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    scope: Mapped[str] = mapped_column(sa.String(64), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))  # state | activity_profile | agent_profile
    activity_id: Mapped[str] = mapped_column(sa.Text)  # "" for agent profiles
    agent: Mapped[str] = mapped_column(sa.Text)  # the agent's identifier ("" for activity profiles)
    registration: Mapped[str] = mapped_column(sa.String(36))  # "" when none
    doc_id: Mapped[str] = mapped_column(sa.Text)
    content_type: Mapped[str] = mapped_column(sa.String(255))
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    etag: Mapped[str] = mapped_column(sa.String(40))
    updated: Mapped[datetime] = mapped_column(UTCDateTime)


class XapiActivity(Base):
    """The canonical definition of an Activity: every definition seen in statements, merged."""

    __tablename__ = "xapi_activities"
    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    activity_id: Mapped[str] = mapped_column(sa.Text)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONText)
    updated: Mapped[datetime] = mapped_column(UTCDateTime)
