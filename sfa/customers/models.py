import enum

from geoalchemy2 import Geography
from sqlalchemy import BigInteger, Boolean, CheckConstraint, Enum, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from sfa.db import Base, TimestampMixin


class LocationStatus(enum.StrEnum):
    unknown = "unknown"  # no location yet
    imported = "imported"  # set by an admin, an import or the ERP
    captured = "captured"  # taken from the first accurate check-in
    approved = "approved"  # moved through a manager-approved proposal


class Customer(TimestampMixin, Base):
    __tablename__ = "customers"
    __table_args__ = (
        CheckConstraint("verify_radius_m IS NULL OR verify_radius_m > 0", name="radius_positive"),
        CheckConstraint(
            "distributor_id IS NULL OR distributor_id <> id", name="not_own_distributor"
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(500))
    customer_class: Mapped[str] = mapped_column(String(40), default="retail")
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    language: Mapped[str | None] = mapped_column(String(8))
    # Geography so that distances are metres on the spheroid, not degrees.
    location = mapped_column(
        Geography(geometry_type="POINT", srid=4326, spatial_index=False), nullable=True
    )
    location_status: Mapped[LocationStatus] = mapped_column(
        Enum(LocationStatus, name="location_status"), default=LocationStatus.unknown
    )
    verify_radius_m: Mapped[float | None] = mapped_column(Float)
    is_distributor: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # A secondary customer is served by a distributor, itself a customer.
    distributor_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="RESTRICT"), index=True
    )
    # Territory: the team whose reps serve this customer.
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="RESTRICT"), index=True
    )
    external_id: Mapped[str | None] = mapped_column(String(80), unique=True)
