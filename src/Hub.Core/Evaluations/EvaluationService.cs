using System.Globalization;
using System.Text;
using NuGet.Versioning;
using XMod.Packaging.Manifests;

namespace XModHub.Core.Evaluations;

/// <summary>What the evaluator posts for one package version.</summary>
public sealed record EvaluationPost(
    string PackageId, string PackageVersion, string TrunkVersion, string Language, string EvalSet, string DataSha256,
    string EvaluatorVersion, IReadOnlyDictionary<string, double> Metrics);

public enum EvaluationStatus
{
    Done,
    Invalid,
    Unauthorized,
    Forbidden,
    NotFound,
}

public sealed record EvaluationOutcome(EvaluationStatus Status, string Message, EvaluationRecord? Evaluation = null, EvaluationRequest? Request = null);

/// <summary>One package version for the evaluator: newly published, or asked to be evaluated again.</summary>
public sealed record EvaluationWork(string Reason, string PackageId, string PackageVersion, string TrunkId, string TrunkVersion, string? Language);

/// <summary>The work after a cursor, and the cursor to ask with next time.</summary>
public sealed record EvaluationQueue(IReadOnlyList<EvaluationWork> Items, string Cursor);

/// <summary>
/// The hub's side of evaluation: only keys with the evaluate scope (and no other) post results,
/// owners and admins ask for a re-evaluation, and the evaluator reads what to do after its cursor.
/// </summary>
public sealed class EvaluationService(IEvaluationStore evaluations, IPackageIndex store, IOwnerStore owners, PackageSearch search)
{
    /// <summary>The scope of an evaluator key: it posts evaluations and does nothing else.</summary>
    public const string Scope = "evaluate";

    public async Task<EvaluationOutcome> PostAsync(EvaluationPost post, ApiKeyRecord? caller, CancellationToken cancel)
    {
        if (caller is null)
        {
            return new(EvaluationStatus.Unauthorized, "an evaluator key is required to post evaluations (X-NuGet-ApiKey)");
        }
        if (!caller.Scopes.Contains(Scope))
        {
            return new(EvaluationStatus.Forbidden, "only the hub's evaluator (a key with the evaluate scope) posts evaluations; publishers report their own metrics in the package");
        }
        if (Problem(post) is { } problem)
        {
            return new(EvaluationStatus.Invalid, problem);
        }
        var package = await store.GetAsync(post.PackageId, Normalize(post.PackageVersion), cancel);
        if (package is null || package.Kind != PackageKind.Language)
        {
            return new(EvaluationStatus.NotFound, $"no language package {post.PackageId} {post.PackageVersion}");
        }
        if (!string.Equals(package.LanguageCode, post.Language, StringComparison.Ordinal))
        {
            return new(EvaluationStatus.Invalid, $"{package.Id} {package.Version} is {package.LanguageCode}, not {post.Language}");
        }
        var trunk = await store.GetAsync(package.TrunkId!, Normalize(post.TrunkVersion), cancel);
        if (trunk is null || trunk.Kind != PackageKind.Trunk || !string.Equals(trunk.WeightsSha256, package.TrunkSha256, StringComparison.OrdinalIgnoreCase))
        {
            return new(EvaluationStatus.Invalid, $"trunk {package.TrunkId} {post.TrunkVersion} is not the trunk {package.Id} {package.Version} was built for");
        }
        var added = await evaluations.AddAsync(new EvaluationRecord
        {
            PackageId = package.Id,
            PackageVersion = package.Version,
            TrunkId = trunk.Id,
            TrunkVersion = trunk.Version,
            Language = post.Language,
            EvalSet = post.EvalSet,
            DataSha256 = post.DataSha256.ToLowerInvariant(),
            EvaluatorVersion = post.EvaluatorVersion,
            Metrics = post.Metrics,
            Evaluator = caller.User,
            Created = DateTimeOffset.UtcNow,
        }, cancel);
        return new(EvaluationStatus.Done, $"evaluation {added.Sequence} of {package.Id} {package.Version} recorded", added);
    }

    /// <summary>What is wrong with a post, or null: short printable strings, finite metrics in range.</summary>
    public static string? Problem(EvaluationPost p)
    {
        foreach (var (name, value, max) in new[]
        {
            ("id", p.PackageId, 200), ("version", p.PackageVersion, 64), ("trunk_version", p.TrunkVersion, 64), ("language", p.Language, 32),
            ("eval_set", p.EvalSet, 64), ("evaluator_version", p.EvaluatorVersion, 64),
        })
        {
            if (string.IsNullOrWhiteSpace(value) || value.Length > max || value.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
            {
                return $"{name} must be 1 to {max} printable characters without spaces";
            }
        }
        if (p.DataSha256.Length != 64 || !p.DataSha256.All(Uri.IsHexDigit))
        {
            return "data_sha256 must be the 64 hex digits of the evaluated text's sha256";
        }
        if (p.Metrics.Count is 0 or > 32)
        {
            return "metrics must hold 1 to 32 values";
        }
        foreach (var required in EvaluationMetrics.Required)
        {
            if (!p.Metrics.ContainsKey(required))
            {
                return $"metrics lack {required} (needed: {string.Join(", ", EvaluationMetrics.Required)})";
            }
        }
        foreach (var (name, value) in p.Metrics)
        {
            if (name.Length is 0 or > 64 || !name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_'))
            {
                return "metric names are 1 to 64 characters of a-z, 0-9 and _";
            }
            if (!double.IsFinite(value) || value < 0)
            {
                return $"metric {name} must be a finite number >= 0";
            }
        }
        var perplexity = p.Metrics[EvaluationMetrics.Perplexity];
        if (perplexity < 1 || p.Metrics[EvaluationMetrics.Top1] > 1 || p.Metrics[EvaluationMetrics.Top5] > 1 || p.Metrics[EvaluationMetrics.Top1] > p.Metrics[EvaluationMetrics.Top5])
        {
            return "perplexity is at least 1 and 0 <= fill_mask_top1 <= fill_mask_top5 <= 1";
        }
        return null;
    }

    /// <summary>Asks the evaluator to evaluate a version again: its owners (push key) or an admin.</summary>
    public async Task<EvaluationOutcome> RequestAsync(string id, string version, ApiKeyRecord? caller, CancellationToken cancel)
    {
        if (caller is null)
        {
            return new(EvaluationStatus.Unauthorized, "a key is required to ask for a re-evaluation (X-NuGet-ApiKey)");
        }
        var package = await store.GetAsync(id, Normalize(version), cancel);
        if (package is null || package.Kind != PackageKind.Language)
        {
            return new(EvaluationStatus.NotFound, $"no language package {id} {version}");
        }
        var admin = caller.Scopes.Contains(ApiKeyService.Admin);
        if (!admin && !(caller.Scopes.Contains(ApiKeyService.Push) && (await owners.GetOwnersAsync(package.Id, cancel)).Contains(caller.User)))
        {
            return new(EvaluationStatus.Forbidden, $"only owners of {package.Id} (with a push key) or admins ask for a re-evaluation");
        }
        var request = await evaluations.RequestAsync(package.Id, package.Version, caller.User, cancel);
        return new(EvaluationStatus.Done, $"{package.Id} {package.Version} will be evaluated again", Request: request);
    }

    /// <summary>
    /// The evaluator's work after <paramref name="cursor"/> (null: from the beginning): language
    /// versions in the order they were published, then re-evaluation requests in the order they
    /// were made, at most <paramref name="take"/>; the returned cursor continues after them.
    /// </summary>
    public async Task<EvaluationQueue> QueueAsync(string? cursor, int take, CancellationToken cancel)
    {
        var (published, after, requestsAfter) = ParseCursor(cursor);
        var (_, latest) = await search.SearchAsync(new SearchQuery { Kind = PackageKind.Language, Take = int.MaxValue }, cancel);
        var versions = new List<PackageRecord>();
        foreach (var id in latest.Select(p => p.Id))
        {
            versions.AddRange((await store.GetVersionsAsync(id, includeUnlisted: false, cancel)).Where(v => v.Kind == PackageKind.Language));
        }
        var items = new List<EvaluationWork>();
        var newer = versions.Select(v => (v, Key: (v.Published.UtcTicks, Name: $"{v.Id.ToLowerInvariant()}@{v.Version.ToLowerInvariant()}")))
            .Where(x => x.Key.UtcTicks > published || (x.Key.UtcTicks == published && string.CompareOrdinal(x.Key.Name, after) > 0))
            .OrderBy(x => x.Key.UtcTicks).ThenBy(x => x.Key.Name, StringComparer.Ordinal).Take(take).ToList();
        foreach (var (v, key) in newer)
        {
            (published, after) = (key.UtcTicks, key.Name);
            if (await WorkAsync("published", v, cancel) is { } work)
            {
                items.Add(work);
            }
        }
        if (items.Count < take)
        {
            foreach (var r in await evaluations.RequestsAfterAsync(requestsAfter, take - items.Count, cancel))
            {
                requestsAfter = r.Sequence;
                if (await store.GetAsync(r.PackageId, r.PackageVersion, cancel) is { } v && await WorkAsync("requested", v, cancel) is { } work)
                {
                    items.Add(work);
                }
            }
        }
        return new EvaluationQueue(items, FormatCursor(published, after, requestsAfter));
    }

    private async Task<EvaluationWork?> WorkAsync(string reason, PackageRecord v, CancellationToken cancel) =>
        v.TrunkId is { } trunkId && v.TrunkSha256 is { } sha && await store.FindTrunkAsync(trunkId, sha, cancel) is { } trunk
            ? new EvaluationWork(reason, v.Id, v.Version, trunk.Id, trunk.Version, v.LanguageCode)
            : null;

    /// <summary>The cursor: the last package taken (publication time, id@version) and the last request; opaque to clients.</summary>
    internal static string FormatCursor(long published, string after, long requests) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"1|{published.ToString(CultureInfo.InvariantCulture)}|{requests.ToString(CultureInfo.InvariantCulture)}|{after}"))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>A cursor this hub wrote; anything else is a <see cref="FormatException"/>.</summary>
    internal static (long Published, string After, long Requests) ParseCursor(string? cursor)
    {
        if (string.IsNullOrEmpty(cursor))
        {
            return (long.MinValue, "", 0);
        }
        try
        {
            var b64 = cursor.Replace('-', '+').Replace('_', '/');
            var parts = Encoding.UTF8.GetString(Convert.FromBase64String(b64.PadRight(b64.Length + (4 - b64.Length % 4) % 4, '='))).Split('|', 4);
            if (parts.Length == 4 && parts[0] == "1" && long.TryParse(parts[1], CultureInfo.InvariantCulture, out var published)
                && long.TryParse(parts[2], CultureInfo.InvariantCulture, out var requests) && requests >= 0)
            {
                return (published, parts[3], requests);
            }
        }
        catch (FormatException)
        {
        }
        throw new FormatException("the cursor is not one this hub gave out: start without one");
    }

    private static string Normalize(string version) => NuGetVersion.TryParse(version, out var v) ? v.ToNormalizedString() : version;

    /// <summary>The newest evaluation of each given version (id, version: any case).</summary>
    public async Task<IReadOnlyDictionary<(string, string), EvaluationRecord>> MeasuredAsync(IEnumerable<PackageRecord> packages, CancellationToken cancel)
    {
        var list = packages.ToList();
        var found = await evaluations.LatestAsync(list.Select(p => p.Id).Distinct(StringComparer.OrdinalIgnoreCase).ToList(), cancel);
        return found.GroupBy(e => (e.PackageId.ToLowerInvariant(), e.PackageVersion.ToLowerInvariant()))
            .ToDictionary(g => g.Key, g => g.MaxBy(e => e.Sequence)!);
    }

    public Task<IReadOnlyList<EvaluationRecord>> HistoryAsync(string id, CancellationToken cancel) => evaluations.ListAsync(id, cancel);

    public static (string, string) Key(PackageRecord p) => (p.Id.ToLowerInvariant(), p.Version.ToLowerInvariant());
}
