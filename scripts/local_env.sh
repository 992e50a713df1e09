# Sourced by scripts/run.sh and scripts/demo_company.sh: where `make run`'s companies live.
# Without SFA_DATABASE_URL, the project-local cluster (.pgdata on 127.0.0.1:SFA_PG_PORT):
# its database "sfa" is the default company, "sfa_registry" the registry of the others
# (docs/tenancy.md), and <company>.localhost, which resolves to this machine, reaches a
# company of the registry from a browser. With SFA_DATABASE_URL (a database of your own)
# nothing is set here: add SFA_TENANTS_URL yourself for more companies.
SFA_LOCAL_CLUSTER=0
if [ -z "${SFA_DATABASE_URL:-}" ]; then
  SFA_LOCAL_CLUSTER=1
  PG_PORT=${SFA_PG_PORT:-5544}
  export SFA_DATABASE_URL="postgresql+psycopg://sfa@127.0.0.1:$PG_PORT/sfa"
  export SFA_TENANTS_URL=${SFA_TENANTS_URL:-postgresql+psycopg://sfa@127.0.0.1:$PG_PORT/sfa_registry}
  export SFA_TENANT_BASE_DOMAIN=${SFA_TENANT_BASE_DOMAIN:-localhost}
fi
