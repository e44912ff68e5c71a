{#-
    The PostgREST roles (docs/api.md): `web_anon` (NOLOGIN, reads schema api
    only, with a statement timeout and generic plans) and `authenticator` (LOGIN NOINHERIT, the role
    PostgREST connects as, which may switch to web_anon). Roles are cluster-wide,
    so creation is idempotent and tolerates a concurrent build.
    The authenticator's password is set by the deployment (infra/), not here.
-#}
{% macro create_api_roles() %}
    do $$
    begin
        if not exists (select from pg_roles where rolname = '{{ var("api_anon_role") }}') then
            create role {{ var("api_anon_role") }} nologin;
        end if;
        if not exists (select from pg_roles where rolname = '{{ var("api_authenticator_role") }}') then
            create role {{ var("api_authenticator_role") }} login noinherit;
        end if;
    exception when duplicate_object or unique_violation then
        null;
    end
    $$;
    alter role {{ var("api_anon_role") }} set statement_timeout = '{{ var("api_statement_timeout", "5s") }}';
    {#- PostgREST prepares each request shape once per connection. A generic plan
        is reused without planning, and prunes the per-scenario marts to the
        requested scenario when it starts (and a baseline's when it runs); a
        custom plan is planned anew for every request, in time that grows with
        the number of scenarios (docs/scaling.md, "API latency"). -#}
    alter role {{ var("api_anon_role") }} set plan_cache_mode = 'force_generic_plan';
    grant {{ var("api_anon_role") }} to {{ var("api_authenticator_role") }};
    create schema if not exists api;
    revoke all on schema api from public;
    alter default privileges in schema api revoke execute on functions from public;
{% endmacro %}

{#- After every run: web_anon may use schema api and nothing else.
    `alter default privileges in schema api revoke ... from public` (above) is a
    no-op in PostgreSQL (a per-schema entry can only add to the global defaults),
    so functions are closed here: the global default of the role running dbt
    (after PostGIS exists: its functions keep EXECUTE for PUBLIC), and every
    function already in api. The API's own functions grant EXECUTE to web_anon
    one by one (macros/api/). -#}
{% macro grant_api_usage() %}
    {%- set api = 'api' ~ var('schema_suffix', '') %}
    create schema if not exists {{ api }};
    grant usage on schema {{ api }} to {{ var("api_anon_role") }};
    alter default privileges revoke execute on functions from public;
    revoke execute on all functions in schema {{ api }} from public;
{% endmacro %}
