"""The simulator's Teams surface state: the store (graphsim/teams/store.py), seeded (seed.py), and the rounds of
channel message delta (graphsim/delta_rounds.py, the one round mechanism of the simulator)."""

from __future__ import annotations

from graphsim.delta_rounds import DeltaRounds, Sealer
from graphsim.teams.seed import seed_teams
from graphsim.teams.store import Channel, Group, TeamsStore
from graphsim.tenant import Tenant

EPOCH = [1]  # channel message delta tokens have one generation (nothing here expires them)


class TeamsService:
    def __init__(self, tenant: Tenant, sealer: Sealer, base_url: str, seed: int, teams: int, messages: int) -> None:
        self.tenant = tenant
        self.store = TeamsStore(tenant.tenant_id, tenant.domain)
        self.rounds = DeltaRounds(sealer, max_rounds=200)
        self.migrations: list[dict[str, str]] = []  # every startMigration/completeMigration, for tests
        seed_teams(self.store, tenant, base_url, seed, teams, messages)

    def team(self, team_id: str) -> Group | None:
        return self.store.team(team_id)

    def channel(self, team_id: str, channel_id: str) -> Channel | None:
        team = self.store.team(team_id)
        return team.channels.get(channel_id) if team is not None else None
