namespace XModHub.Plugins.Metadata.PostgreSql;

/// <summary>
/// The schema, as numbered steps applied in order, each once (schema_version records them). A change
/// to the schema is a new step at the end; released steps are never edited.
/// </summary>
internal static class Migrations
{
    public static readonly IReadOnlyList<string> Steps =
    [
        // 1: packages, owners, API keys; a trigram index over the searched text so substring search
        // stays an index scan at 100,000 packages; version_key orders versions as NuGet does; newest and
        // newest_release mark each id's newest listed version (with and without pre-releases), kept
        // current on every add and (un)list, so search never groups all versions of all ids.
        """
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        CREATE TABLE packages (
          lower_id text NOT NULL, lower_version text NOT NULL, id text NOT NULL, version text NOT NULL,
          version_key text COLLATE "C" NOT NULL,
          kind text NOT NULL, listed boolean NOT NULL, prerelease boolean NOT NULL, published timestamptz NOT NULL,
          downloads bigint NOT NULL DEFAULT 0, description text NOT NULL, authors text NOT NULL, tags text NOT NULL,
          manifest text NOT NULL, readme text, trunk_id text, trunk_sha256 text, config_json text, weights_sha256 text,
          language_code text, bcp47 text, iso639_3 text, english_name text, autonym text, script text, family text,
          perplexity double precision, size bigint NOT NULL, sha256 text NOT NULL, publisher text NOT NULL,
          newest boolean NOT NULL DEFAULT false, newest_release boolean NOT NULL DEFAULT false,
          search_text text GENERATED ALWAYS AS (lower(
            lower_id || E'\x01' || description || E'\x01' || tags || E'\x01' || coalesce(english_name, '') || E'\x01' ||
            coalesce(autonym, '') || E'\x01' || coalesce(bcp47, '') || E'\x01' || coalesce(iso639_3, '') || E'\x01' ||
            coalesce(language_code, ''))) STORED,
          PRIMARY KEY (lower_id, lower_version));
        CREATE INDEX packages_search ON packages USING gin (search_text gin_trgm_ops);
        CREATE INDEX packages_versions ON packages (lower_id, version_key DESC) WHERE listed;
        CREATE INDEX packages_newest ON packages (lower_id COLLATE "C") WHERE newest;
        CREATE INDEX packages_newest_release ON packages (lower_id COLLATE "C") WHERE newest_release;
        CREATE INDEX packages_trunk ON packages (lower(trunk_id));
        CREATE TABLE owners (lower_id text NOT NULL, owner text NOT NULL, PRIMARY KEY (lower_id, owner));
        CREATE TABLE api_keys (hash text PRIMARY KEY, "user" text NOT NULL, scopes text NOT NULL, created timestamptz NOT NULL, name text NOT NULL);
        """,
        // 2: the blob of each version is named per push (so concurrent pushes never share a blob);
        // null for rows written before, whose blob is at the legacy path.
        "ALTER TABLE packages ADD COLUMN blob_path text;",
    ];
}
