using System.Net.Http.Json;
using System.Text.Json;
using XMod;
using XMod.Packaging;
using XMod.Packaging.Languages;
using XMod.Runtime.Serving;
using XMod.Training.Corpora;
using XModHub.Client;
using XModHub.Client.Cache;
using XModHub.Client.Feeds;
using XModHub.Client.Packages;

// Not ...Commands.Evaluator (the folder's name): that namespace would hide XMod.Runtime.Scoring.Evaluator from the other verbs.
namespace XModHub.Cli.Commands.HubEvaluator;

/// <summary>
/// The hub's evaluator: a process of its own (it needs libtorch; the hub does not). It reads the
/// hub's work queue after its cursor (new language versions, re-evaluation requests), installs
/// each version with its trunk into its own cache, measures it on the standard evaluation set
/// (<see cref="EvalSet"/>: perplexity with fixed masking, fill-mask top-1 and top-5) and posts the
/// result with its evaluate-scoped key. The cursor is saved after each item, so a restart goes on
/// where it stopped.
/// </summary>
public sealed class EvaluatorCommand(IReporter reporter, CliPaths paths, HttpClient http)
{
    /// <summary>Recorded with every result; bump when the measurement changes (masking, sequence length, metrics).</summary>
    public const string Version = "1.0.0";

    /// <summary>Tokens per example: fixed, so every package is measured alike (capped at a trunk's own maximum).</summary>
    public const int SequenceLength = 128;

    public async Task<int> RunAsync(string hub, string apiKey, bool once, string? stateDir, string? sources, int intervalSeconds, CancellationToken cancel)
    {
        if (!Uri.TryCreate(hub.Trim(), UriKind.Absolute, out var hubUri) || hubUri.Scheme is not ("http" or "https"))
        {
            throw new XModException($"--hub '{hub}' is not an http(s) URL: give the hub's address, e.g. http://127.0.0.1:5000");
        }
        if (string.IsNullOrWhiteSpace(apiKey))
        {
            throw new XModException("--api-key is empty: give the evaluator key an admin created (xmod-hub keys create --scope evaluate)");
        }
        if (intervalSeconds < 1)
        {
            throw new XModException($"--interval {intervalSeconds} must be at least 1 second");
        }
        var baseUrl = hubUri.GetLeftPart(UriPartial.Path).TrimEnd('/');
        if (baseUrl.EndsWith("/v3/index.json", StringComparison.OrdinalIgnoreCase))
        {
            baseUrl = baseUrl[..^"/v3/index.json".Length];
        }
        var state = Path.GetFullPath(stateDir ?? Path.Combine(paths.Home, "evaluator"));
        Directory.CreateDirectory(state);
        var sourceCache = sources ?? paths.SourceCache;
        var cursorFile = Path.Combine(state, "cursor.json");
        var cursor = ReadCursor(cursorFile, baseUrl);
        var manager = new PackageManager(new ClientConfig { Sources = [new FeedSource("hub", baseUrl + "/v3/index.json", null)] }, new PackageCache(state), http, reporter);
        var evalTexts = new Dictionary<string, EvalText?>(StringComparer.Ordinal);
        reporter.Info($"evaluator {Version} for {baseUrl}: standard set {EvalSet.Id}, state in {state}{(once ? ", processing the backlog once" : "")}");
        int evaluated = 0, failed = 0, skipped = 0;
        while (true)
        {
            var queue = await GetQueueAsync(baseUrl, apiKey, cursor, cancel);
            foreach (var item in queue.Items)
            {
                cancel.ThrowIfCancellationRequested();
                try
                {
                    switch (await EvaluateAsync(item, manager, state, sourceCache, evalTexts, baseUrl, apiKey, cancel))
                    {
                        case true: evaluated++; break;
                        case false: skipped++; break;
                    }
                }
                catch (Exception e) when (e is XModException or HttpRequestException or IOException or JsonException && !cancel.IsCancellationRequested)
                {
                    failed++;
                    reporter.Warn($"{item.Id} {item.Version}: not evaluated: {e.Message}");
                }
            }
            cursor = queue.Cursor;
            AtomicFile.WriteAllText(cursorFile, JsonSerializer.Serialize(new CursorState(baseUrl, cursor)) + "\n");
            if (queue.Items.Count > 0)
            {
                continue;
            }
            if (once)
            {
                break;
            }
            await Task.Delay(TimeSpan.FromSeconds(intervalSeconds), cancel);
        }
        reporter.Success($"evaluated {evaluated} package version{(evaluated == 1 ? "" : "s")}, skipped {skipped}, failed {failed}");
        return failed == 0 ? 0 : 1;
    }

    private sealed record CursorState(string Hub, string Cursor);

    private sealed record WorkItem(string Reason, string Id, string Version, string Trunk, string TrunkVersion, string? Language);

    private sealed record Queue(IReadOnlyList<WorkItem> Items, string Cursor);

    private static string? ReadCursor(string file, string hub)
    {
        try
        {
            return File.Exists(file) && JsonSerializer.Deserialize<CursorState>(File.ReadAllText(file)) is { } s && s.Hub == hub ? s.Cursor : null;
        }
        catch (JsonException)
        {
            return null; // a damaged cursor starts over: evaluating again adds rows, it loses nothing
        }
    }

    private async Task<Queue> GetQueueAsync(string baseUrl, string apiKey, string? cursor, CancellationToken cancel)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{baseUrl}/api/evaluations/queue?take=50" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor)));
        request.Headers.Add("X-NuGet-ApiKey", apiKey);
        using var response = await http.SendAsync(request, cancel);
        var body = await response.Content.ReadAsStringAsync(cancel);
        if (!response.IsSuccessStatusCode)
        {
            throw new XModException($"the hub refused the evaluator's queue request ({(int)response.StatusCode}): {OneLine(body)}");
        }
        try
        {
            using var doc = JsonDocument.Parse(body);
            var items = doc.RootElement.GetProperty("items").EnumerateArray().Select(i => new WorkItem(
                i.GetProperty("reason").GetString()!, i.GetProperty("id").GetString()!, i.GetProperty("version").GetString()!,
                i.GetProperty("trunk").GetString()!, i.GetProperty("trunk_version").GetString()!,
                i.TryGetProperty("language", out var l) && l.ValueKind == JsonValueKind.String ? l.GetString() : null)).ToList();
            return new Queue(items, doc.RootElement.GetProperty("cursor").GetString()!);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new XModException($"{baseUrl} answered the queue request with something that is not an XModHub queue ({e.Message})");
        }
    }

    /// <summary>True when evaluated and posted, false when skipped (no standard set for the language).</summary>
    private async Task<bool> EvaluateAsync(WorkItem item, PackageManager manager, string state, string sourceCache,
        Dictionary<string, EvalText?> evalTexts, string baseUrl, string apiKey, CancellationToken cancel)
    {
        var info = item.Language is null ? null : LanguageCatalog.Find(item.Language);
        if (info is null)
        {
            reporter.Info($"{item.Id} {item.Version}: skipped: the standard set {EvalSet.Id} has no text in {item.Language ?? "an unnamed language"}");
            return false;
        }
        if (!evalTexts.TryGetValue(info.Code, out var text))
        {
            text = evalTexts[info.Code] = EvalSet.Build(info, sourceCache, reporter.Info);
        }
        if (text is null)
        {
            reporter.Info($"{item.Id} {item.Version}: skipped: the standard set {EvalSet.Id} has no text in {info.EnglishName}");
            return false;
        }
        reporter.Info($"{item.Id} {item.Version} ({item.Reason}): installing with {item.Trunk} {item.TrunkVersion}");
        await manager.InstallAsync($"{item.Trunk}@{item.TrunkVersion}", null, cancel);
        var shortId = item.Id.StartsWith(item.Trunk + ".", StringComparison.OrdinalIgnoreCase) ? item.Id[(item.Trunk.Length + 1)..] : item.Id;
        var installed = await manager.InstallAsync($"{shortId}@{item.Version}", item.Trunk, cancel);
        StandardScoresResult scores;
        using (var runtime = XModRuntime.Open(new XModRuntimeOptions { Home = state, Trunk = item.Trunk, TrunkVersion = item.TrunkVersion }))
        {
            var code = runtime.LoadLanguage(manager.Cache.SnapshotDir(installed.Id, installed.Version));
            var s = runtime.Score(text.Paragraphs, code, SequenceLength);
            scores = new StandardScoresResult(code, s.Perplexity, s.Top1, s.Top5, s.MaskedTokens);
        }
        reporter.Info($"{item.Id} {item.Version}: perplexity {scores.Perplexity:F2}, fill-mask top-1 {100 * scores.Top1:F1}%, top-5 {100 * scores.Top5:F1}% on {text.Description}");
        using var post = new HttpRequestMessage(HttpMethod.Post, $"{baseUrl}/api/evaluations")
        {
            Content = JsonContent.Create(new Dictionary<string, object>
            {
                ["id"] = item.Id,
                ["version"] = item.Version,
                ["trunk_version"] = item.TrunkVersion,
                ["language"] = scores.Language,
                ["eval_set"] = EvalSet.Id,
                ["data_sha256"] = text.Sha256,
                ["evaluator_version"] = Version,
                ["metrics"] = new Dictionary<string, double>
                {
                    ["perplexity"] = scores.Perplexity,
                    ["fill_mask_top1"] = scores.Top1,
                    ["fill_mask_top5"] = scores.Top5,
                    ["masked_tokens"] = scores.MaskedTokens,
                },
            }),
        };
        post.Headers.Add("X-NuGet-ApiKey", apiKey);
        using var response = await http.SendAsync(post, cancel);
        if (!response.IsSuccessStatusCode)
        {
            throw new XModException($"the hub refused the result ({(int)response.StatusCode}): {OneLine(await response.Content.ReadAsStringAsync(cancel))}");
        }
        return true;
    }

    private sealed record StandardScoresResult(string Language, double Perplexity, double Top1, double Top5, long MaskedTokens);

    private static string OneLine(string s)
    {
        var line = s.Trim().Split('\n')[0];
        return line.Length > 300 ? line[..300] + "…" : line;
    }
}
