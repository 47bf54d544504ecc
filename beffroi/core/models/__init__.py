from beffroi.core.models.counters import Counter
from beffroi.core.models.journal import JournalEntry
from beffroi.core.models.people import Membership, User
from beffroi.core.models.territory import Domain, Organisation, Sector, Service
from beffroi.core.models.worker import WorkerHeartbeat

__all__ = ["Counter", "Domain", "JournalEntry", "Membership", "Organisation", "Sector", "Service", "User", "WorkerHeartbeat"]
