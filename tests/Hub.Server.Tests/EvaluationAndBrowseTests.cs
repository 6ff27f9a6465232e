using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using XMod.Packaging.Manifests;
using XMod.Packaging.Nupkg;
using XModHub.Core.Evaluations;
using Xunit.Abstractions;

namespace XModHub.Server.Tests;

/// <summary>
/// Issue 16 on the hub's side: evaluator-scoped keys (and nothing else posts a result), immutable
/// results, re-evaluation requests, the queue's cursor, and the browse pages and their JSON, with
/// hostile names encoded, rendered in headless Chromium (screenshots in docs/screenshots/).
/// </summary>
public sealed class EvaluationAndBrowseTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-hub-eval-").FullName;

    public void Dispose() => TempDir.Delete(_dir);

    private const string Hostile = "<script>alert('x')</script><img src=x onerror=alert(1)>";

    private static object Result(string id = "xmod-nano.lang-de", string version = "1.0.0", double perplexity = 42.5, string language = "de_DE", string trunkVersion = "1.0.0") => new
    {
        id,
        version,
        trunk_version = trunkVersion,
        language,
        eval_set = "xmod-eval/1",
        data_sha256 = new string('a', 64),
        evaluator_version = "1.0.0",
        metrics = new Dictionary<string, double> { ["perplexity"] = perplexity, ["fill_mask_top1"] = 0.3, ["fill_mask_top5"] = 0.55, ["masked_tokens"] = 1234 },
    };

    private static async Task<HttpResponseMessage> SendAsync(HubHost hub, HttpMethod method, string path, string? key, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : body as HttpContent ?? JsonContent.Create(body) };
        if (key is not null)
        {
            request.Headers.Add("X-NuGet-ApiKey", key);
        }
        return await hub.Client.SendAsync(request);
    }

    private async Task<HubHost> HubWithLanguagesAsync(params string[] languages)
    {
        var hub = await HubHost.StartAsync();
        var key = await hub.KeyAsync("alice");
        foreach (var p in TestPackages.Build(_dir, "xmod-nano", "1.0.0", 1, languages.Length == 0 ? ["de_DE", "ru_RU", "ja_XX", "el_GR"] : languages))
        {
            Assert.Equal(HttpStatusCode.Created, (await hub.PushAsync(File.ReadAllBytes(p), key)).StatusCode);
        }
        return hub;
    }

    [Fact]
    public async Task Only_an_evaluator_key_posts_results_and_it_can_do_nothing_else()
    {
        await using var hub = await HubWithLanguagesAsync();
        var owner = await hub.KeyAsync("alice");
        var admin = await hub.KeyAsync("root", "admin");
        var evaluator = await hub.KeyAsync("evaluator", EvaluationService.Scope);

        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(hub, HttpMethod.Post, "api/evaluations", null, Result())).StatusCode);
        // The package's owner may not post (nor edit) the hub's measurement, and an admin key is not an evaluator key either.
        var byOwner = await SendAsync(hub, HttpMethod.Post, "api/evaluations", owner, Result(perplexity: 1.01));
        Assert.Equal(HttpStatusCode.Forbidden, byOwner.StatusCode);
        Assert.Contains("only the hub's evaluator", await byOwner.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(hub, HttpMethod.Post, "api/evaluations", admin, Result())).StatusCode);

        var posted = await SendAsync(hub, HttpMethod.Post, "api/evaluations", evaluator, Result());
        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);

        // The evaluator key pushes nothing, unlists nothing, changes no owner.
        var package = TestPackages.Build(Path.Combine(_dir, "v2"), "xmod-nano", "1.1.0", 1, "de_DE");
        Assert.Equal(HttpStatusCode.Forbidden, (await hub.PushAsync(File.ReadAllBytes(package[1]), evaluator)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(hub, HttpMethod.Delete, "api/v2/package/xmod-nano.lang-de/1.0.0", evaluator)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(hub, HttpMethod.Post, "api/packages/xmod-nano.lang-de/owners", evaluator, new { owner = "evaluator" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(hub, HttpMethod.Post, "api/packages/xmod-nano.lang-de/1.0.0/reevaluate", evaluator)).StatusCode);

        // An evaluator key has that scope alone.
        var mixed = await SendAsync(hub, HttpMethod.Post, "api/keys", admin, new { user = "ev2", scopes = new[] { "evaluate", "push" } });
        Assert.Equal(HttpStatusCode.BadRequest, mixed.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(hub, HttpMethod.Post, "api/keys", admin, new { user = "ev2", scopes = new[] { "evaluate" } })).StatusCode);

        // No route edits or deletes a result: a re-evaluation adds one, the newest shows.
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await SendAsync(hub, HttpMethod.Put, "api/evaluations", evaluator, Result(perplexity: 2))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(hub, HttpMethod.Post, "api/evaluations", evaluator, Result(perplexity: 40))).StatusCode);
        using var history = JsonDocument.Parse(await hub.Client.GetStringAsync("api/packages/xmod-nano.lang-de/evaluations"));
        Assert.Equal([42.5, 40.0], history.RootElement.GetProperty("evaluations").EnumerateArray().Select(e => e.GetProperty("metrics").GetProperty("perplexity").GetDouble()));
        using var details = JsonDocument.Parse(await hub.Client.GetStringAsync("api/packages/xmod-nano.lang-de"));
        Assert.Equal(40, details.RootElement.GetProperty("measured").GetProperty("perplexity").GetDouble());
    }

    public static IEnumerable<object[]> HostilePosts() =>
    [
        [new { id = "xmod-nano.lang-de" }],
        [JsonNode.Parse(JsonSerializer.Serialize(Result()))!.AsObject().Also(o => o["metrics"]!["perplexity"] = -1)],
        [JsonNode.Parse(JsonSerializer.Serialize(Result()))!.AsObject().Also(o => o["metrics"]!["fill_mask_top1"] = 1.5)],
        [JsonNode.Parse(JsonSerializer.Serialize(Result()))!.AsObject().Also(o => o["metrics"]!["perplexity"] = "NaN")],
        [JsonNode.Parse(JsonSerializer.Serialize(Result()))!.AsObject().Also(o => o["metrics"]!.AsObject().Remove("fill_mask_top5"))],
        [JsonNode.Parse(JsonSerializer.Serialize(Result()))!.AsObject().Also(o => o["metrics"]![Hostile] = 1)],
        [JsonNode.Parse(JsonSerializer.Serialize(Result()))!.AsObject().Also(o => o["eval_set"] = Hostile)],
        [JsonNode.Parse(JsonSerializer.Serialize(Result()))!.AsObject().Also(o => o["evaluator_version"] = new string('v', 100))],
        [JsonNode.Parse(JsonSerializer.Serialize(Result()))!.AsObject().Also(o => o["data_sha256"] = "not-hex")],
        [JsonNode.Parse(JsonSerializer.Serialize(Result()))!.AsObject().Also(o => o["language"] = "ru_RU")],
        [JsonNode.Parse(JsonSerializer.Serialize(Result()))!.AsObject().Also(o => o["trunk_version"] = "9.9.9")],
        [JsonNode.Parse(JsonSerializer.Serialize(Result()))!.AsObject().Also(o => o["id"] = "xmod-nano")],
        ["[1, 2, 3]"],
        ["{not json"],
    ];

    [Theory]
    [MemberData(nameof(HostilePosts))]
    public async Task A_malformed_or_lying_result_is_refused_with_a_reason_and_nothing_is_stored(object body)
    {
        await using var hub = await HubWithLanguagesAsync("de_DE", "ru_RU");
        var evaluator = await hub.KeyAsync("evaluator", EvaluationService.Scope);
        var content = body is string raw ? new StringContent(raw, Encoding.UTF8, "application/json") : (object)body;
        var response = await SendAsync(hub, HttpMethod.Post, "api/evaluations", evaluator, content);
        Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        Assert.False(string.IsNullOrWhiteSpace(await response.Content.ReadAsStringAsync()));
        using var history = JsonDocument.Parse(await hub.Client.GetStringAsync("api/packages/xmod-nano.lang-de/evaluations"));
        Assert.Equal(0, history.RootElement.GetProperty("evaluations").GetArrayLength());
    }

    [Fact]
    public async Task The_queue_gives_each_new_version_once_then_reevaluation_requests_from_owners_and_admins()
    {
        await using var hub = await HubWithLanguagesAsync();
        var evaluator = await hub.KeyAsync("evaluator", EvaluationService.Scope);
        var owner = await hub.KeyAsync("alice");
        var stranger = await hub.KeyAsync("mallory");
        async Task<(List<string> Items, string Cursor)> Queue(string? cursor)
        {
            var response = await SendAsync(hub, HttpMethod.Get, "api/evaluations/queue?take=3" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor)), evaluator);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return (doc.RootElement.GetProperty("items").EnumerateArray().Select(i => $"{i.GetProperty("reason").GetString()} {i.GetProperty("id").GetString()} {i.GetProperty("trunk_version").GetString()}").ToList(),
                doc.RootElement.GetProperty("cursor").GetString()!);
        }
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(hub, HttpMethod.Get, "api/evaluations/queue", owner)).StatusCode);
        var first = await Queue(null);
        var second = await Queue(first.Cursor);
        var third = await Queue(second.Cursor);
        Assert.Equal(4, first.Items.Count + second.Items.Count);
        Assert.Empty(third.Items);
        Assert.All(first.Items.Concat(second.Items), i => Assert.StartsWith("published xmod-nano.lang-", i));
        Assert.Equal(4, first.Items.Concat(second.Items).Distinct().Count());

        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(hub, HttpMethod.Post, "api/packages/xmod-nano.lang-de/1.0.0/reevaluate", stranger)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(hub, HttpMethod.Post, "api/packages/xmod-nano.lang-de/1.0.0/reevaluate", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(hub, HttpMethod.Post, "api/packages/xmod-nano.lang-de/9.0.0/reevaluate", owner)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(hub, HttpMethod.Post, "api/packages/xmod-nano.lang-de/1.0.0/reevaluate", owner)).StatusCode);
        var again = await Queue(third.Cursor);
        Assert.Equal(["requested xmod-nano.lang-de 1.0.0"], again.Items);
        Assert.Empty((await Queue(again.Cursor)).Items);

        Assert.Equal(HttpStatusCode.BadRequest, (await SendAsync(hub, HttpMethod.Get, "api/evaluations/queue?cursor=" + Uri.EscapeDataString(Hostile), evaluator)).StatusCode);
    }

    [Fact]
    public async Task Search_understands_a_language_in_any_form_and_facets_count()
    {
        await using var hub = await HubWithLanguagesAsync();
        foreach (var q in new[] { "de", "deu", "de_DE", "de-DE", "German", "Deutsch", "deutsch" })
        {
            using var doc = JsonDocument.Parse(await hub.Client.GetStringAsync("api/languages?q=" + Uri.EscapeDataString(q)));
            Assert.Equal(["xmod-nano.lang-de"], doc.RootElement.GetProperty("languages").EnumerateArray().Select(l => l.GetProperty("id").GetString()));
            Assert.Equal("de_DE", doc.RootElement.GetProperty("query").GetProperty("resolved_language").GetString());
        }
        using (var nuget = JsonDocument.Parse(await hub.Client.GetStringAsync("v3/search?q=Deutsch")))
        {
            Assert.Equal(["xmod-nano.lang-de"], nuget.RootElement.GetProperty("data").EnumerateArray().Select(d => d.GetProperty("id").GetString()));
        }
        using var all = JsonDocument.Parse(await hub.Client.GetStringAsync("api/languages?script=Cyrl"));
        Assert.Equal(["ru_RU"], all.RootElement.GetProperty("languages").EnumerateArray().Select(l => l.GetProperty("code").GetString()));
        // Each facet counts under the other filters: with script=Cyrl the script facet still offers every script.
        var scripts = all.RootElement.GetProperty("facets").GetProperty("script").EnumerateArray().ToDictionary(f => f.GetProperty("value").GetString()!, f => f.GetProperty("count").GetInt32());
        Assert.Equal(new Dictionary<string, int> { ["Cyrl"] = 1, ["Grek"] = 1, ["Jpan"] = 1, ["Latn"] = 1 }, scripts);
        Assert.Equal(1, all.RootElement.GetProperty("facets").GetProperty("trunk").EnumerateArray().Single().GetProperty("count").GetInt32());
    }

    /// <summary>A task package (no weights of its own are needed to list it) whose labels and description are hostile.</summary>
    private string HostileTask(string trunkNupkg)
    {
        var dir = Path.Combine(_dir, "task");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "README.md"), $"# {Hostile}\n\n[click](javascript:alert(1))\n");
        var trunkManifest = JsonSerializer.Deserialize<PackageManifest>(TestPackages.Entries(trunkNupkg)[NupkgWriter.ContentRoot + PackageManifest.FileName])!;
        var trunkSha = trunkManifest.Files.Single(f => f.Path == "trunk.safetensors").Sha256;
        var task = JsonSerializer.SerializeToElement(new Dictionary<string, object> { ["kind"] = Hostile, ["labels"] = new[] { Hostile, "ok" }, ["source_language"] = "de_DE", ["max_length"] = 64 })
            .EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone());
        new PackageManifest
        {
            Kind = PackageKind.Task, Id = "task-sections", Version = "1.0.0", Description = Hostile, Trunk = new TrunkReference("xmod-nano", "*", trunkSha),
            Task = task, Files = PackageManifest.Inventory(dir),
        }.Save(dir);
        return NupkgWriter.Pack(dir, Path.Combine(_dir, "task-nupkg"), "tester");
    }

    [Fact]
    public async Task Pages_and_json_show_measured_apart_from_reported_encode_hostile_names_and_render_in_chromium()
    {
        await using var hub = await HubHost.StartAsync();
        var key = await hub.KeyAsync("alice");
        var packages = TestPackages.Build(_dir, "xmod-nano", "1.0.0", 1, "de_DE", "ru_RU", "ja_XX", "el_GR", "yo_NG");
        foreach (var p in packages)
        {
            Assert.Equal(HttpStatusCode.Created, (await hub.PushAsync(File.ReadAllBytes(p), key)).StatusCode);
        }
        // A second trunk version with other weights (so lang-de 1.0.0 does not fit it), and a lang-de 2.0.0 for it.
        var v2 = TestPackages.Build(Path.Combine(_dir, "v2"), "xmod-nano", "2.0.0", 2, "de_DE");
        foreach (var p in v2)
        {
            Assert.Equal(HttpStatusCode.Created, (await hub.PushAsync(File.ReadAllBytes(p), key)).StatusCode);
        }
        Assert.Equal(HttpStatusCode.Created, (await hub.PushAsync(File.ReadAllBytes(HostileTask(packages[0])), key)).StatusCode);
        // A language whose names are hostile: its manifest says so (the nuspec, files and hashes stay valid).
        var entries = TestPackages.Entries(packages[^1]);
        var manifest = JsonNode.Parse(entries[NupkgWriter.ContentRoot + PackageManifest.FileName])!;
        manifest["language"]!["english_name"] = Hostile;
        manifest["language"]!["autonym"] = Hostile;
        manifest["language"]!["family"] = Hostile;
        manifest["version"] = "1.0.1";
        entries[NupkgWriter.ContentRoot + PackageManifest.FileName] = Encoding.UTF8.GetBytes(manifest.ToJsonString());
        var nuspec = entries.Keys.Single(k => k.EndsWith(".nuspec", StringComparison.Ordinal));
        entries[nuspec] = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(entries[nuspec]).Replace("<version>1.0.0</version>", "<version>1.0.1</version>"));
        var hostilePush = await hub.PushAsync(TestPackages.Zip(entries), key);
        Assert.Equal(HttpStatusCode.Created, hostilePush.StatusCode);

        var evaluator = await hub.KeyAsync("evaluator", EvaluationService.Scope);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(hub, HttpMethod.Post, "api/evaluations", evaluator, Result(version: "2.0.0", perplexity: 85.26, trunkVersion: "2.0.0"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(hub, HttpMethod.Post, "api/evaluations", evaluator, Result("xmod-nano.lang-ru", perplexity: 60.5, language: "ru_RU"))).StatusCode);

        // JSON: both metrics, labelled by source; sorting by the measured metric puts measured languages first, best first.
        using (var doc = JsonDocument.Parse(await hub.Client.GetStringAsync("api/languages?trunk=xmod-nano&sort=measured")))
        {
            var langs = doc.RootElement.GetProperty("languages").EnumerateArray().ToList();
            Assert.Equal(["ru_RU", "de_DE"], langs.Take(2).Select(l => l.GetProperty("code").GetString()));
            var de = langs[1];
            Assert.Equal("hub", de.GetProperty("measured").GetProperty("source").GetString());
            Assert.Equal("measured by the hub", de.GetProperty("measured").GetProperty("label").GetString());
            Assert.Equal(85.26, de.GetProperty("measured").GetProperty("perplexity").GetDouble());
            Assert.Equal("xmod-eval/1", de.GetProperty("measured").GetProperty("eval_set").GetString());
            Assert.Equal("publisher", de.GetProperty("reported").GetProperty("source").GetString());
            Assert.Equal(15, de.GetProperty("reported").GetProperty("heldout_perplexity").GetDouble());
        }
        using (var trunk = JsonDocument.Parse(await hub.Client.GetStringAsync("api/trunks/xmod-nano")))
        {
            Assert.Equal("X-MOD", trunk.RootElement.GetProperty("architecture").GetProperty("kind").GetString());
            Assert.Equal(2, trunk.RootElement.GetProperty("versions").GetArrayLength());
            Assert.Equal(["task-sections"], trunk.RootElement.GetProperty("tasks").EnumerateArray().Select(t => t.GetProperty("short_id").GetString()));
        }
        using (var tasks = JsonDocument.Parse(await hub.Client.GetStringAsync("api/tasks")))
        {
            Assert.Equal(Hostile, tasks.RootElement.GetProperty("tasks")[0].GetProperty("task").GetString());
        }
        using (var de = JsonDocument.Parse(await hub.Client.GetStringAsync("api/packages/xmod-nano.lang-de")))
        {
            var rows = de.RootElement.GetProperty("compatibility").GetProperty("rows").EnumerateArray().ToDictionary(r => r.GetProperty("version").GetString()!, r => r.GetProperty("fits").EnumerateArray().Select(x => x.GetString()).ToList());
            Assert.Equal(["1.0.0"], rows["1.0.0"]);
            Assert.Equal(["2.0.0"], rows["2.0.0"]);
            Assert.Contains(de.RootElement.GetProperty("files").EnumerateArray(), f => f.GetProperty("path").GetString() == "module.safetensors");
            Assert.Contains("AddXModRuntime", de.RootElement.GetProperty("install_runtime").GetString());
            Assert.Equal(["alice"], de.RootElement.GetProperty("owners").EnumerateArray().Select(o => o.GetString()));
        }

        // Raw HTML: every hostile string arrives encoded, on every page.
        foreach (var page in new[] { "", "?q=" + Uri.EscapeDataString(Hostile), "packages/xmod-nano.lang-yo", "trunks/xmod-nano", "tasks", "trunks", "packages/task-sections", "packages/" + Uri.EscapeDataString(Hostile) })
        {
            var html = await (await hub.Client.GetAsync(page)).Content.ReadAsStringAsync();
            Assert.DoesNotContain("<script>alert", html);
            Assert.DoesNotContain("<img src=x", html);
            Assert.DoesNotContain("javascript:alert", html);
        }
        Assert.Contains("&lt;script&gt;alert(", await hub.Client.GetStringAsync("packages/xmod-nano.lang-yo"));

        var shots = Path.Combine(RepoRoot.Path, "docs", "screenshots");
        Directory.CreateDirectory(shots);
        var index = Chromium(hub.BaseAddress + "?sort=measured", Path.Combine(shots, "languages.png"));
        foreach (var expected in new[] { "measured by the hub", "reported by the publisher", "85.3", "60.5", "Deutsch", "Cyrl (1)", "xmod-nano (5)" })
        {
            Assert.Contains(expected, index);
        }
        var package = Chromium(hub.BaseAddress + "packages/xmod-nano.lang-de", Path.Combine(shots, "package.png"));
        foreach (var expected in new[] { "Measured by the hub", "Reported by the publisher", "85.26", "15.00", "xmod-eval/1", "Compatibility", "module.safetensors", "AddXModRuntime", "xmod-hub install lang-de --trunk xmod-nano" })
        {
            Assert.Contains(expected, package);
        }
        var trunkPage = Chromium(hub.BaseAddress + "trunks/xmod-nano", Path.Combine(shots, "trunk.png"));
        Assert.Contains("Architecture", trunkPage);
        Assert.Contains("task-sections", trunkPage);
        var taskPage = Chromium(hub.BaseAddress + "tasks", Path.Combine(shots, "tasks.png"));
        Assert.Contains("&lt;script&gt;", taskPage);
        var search = Chromium(hub.BaseAddress + "?q=Deutsch", Path.Combine(shots, "search-deutsch.png"));
        Assert.Contains("1 language", search);
        Chromium(hub.BaseAddress + "packages/xmod-nano.lang-yo", Path.Combine(shots, "hostile.png"));
        foreach (var png in Directory.GetFiles(shots, "*.png"))
        {
            Assert.True(new FileInfo(png).Length > 10_000, $"{png} is empty");
        }
        output.WriteLine($"screenshots in {shots}");
    }

    /// <summary>Loads a page in headless Chromium (no script runs: the CSP forbids it); returns the DOM and saves a screenshot.</summary>
    private static string Chromium(string url, string screenshot)
    {
        using var profile = new TempDir("xmod-chromium-");
        string[] common = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic", "--hide-scrollbars", $"--user-data-dir={profile.Path}"];
        ProcessRunner.RunOk("chromium", [.. common, "--window-size=1280,1400", $"--screenshot={screenshot}", url], timeout: TimeSpan.FromMinutes(2));
        return ProcessRunner.RunOk("chromium", [.. common, "--dump-dom", url], timeout: TimeSpan.FromMinutes(2)).StdOut;
    }
}

internal static class JsonNodeExtensions
{
    public static JsonObject Also(this JsonObject o, Action<JsonObject> change)
    {
        change(o);
        return o;
    }
}
