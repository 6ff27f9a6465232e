using System.Net;
using System.Net.Sockets;
using XMod.Packaging.Manifests;
using XMod.TestSupport;
using XModHub.Client.Feeds;

namespace Hub.Cli.Tests;

/// <summary>
/// Issue 12 item 6 against an in-process hub: `source add` checks what it is given, a dead or
/// silent source does not stop the next one, `info` says what a person needs to decide, missing
/// packages and sources exit 1, and `uninstall` says what it removed.
/// </summary>
public sealed class SourcesAndInfoTests : IAsyncLifetime
{
    private HubHost _hub = null!;
    private string _key = "";
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-sources-").FullName;

    public async Task InitializeAsync()
    {
        _hub = await HubHost.StartAsync();
        _key = await _hub.KeyAsync("tester", XModHub.Core.ApiKeyService.Push, XModHub.Core.ApiKeyService.Unlist);
    }

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        TempDir.Delete(_dir);
    }

    private static List<string> Lines(string text) => text.ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();

    [Fact]
    public async Task SourceAddFindsAHubsServiceIndexFromItsBaseUrlAndRefusesWhatIsNoHub()
    {
        await using var cli = new CliHarness();
        Assert.Equal(0, await cli.RunAsync("source", "add", "hub", _hub.BaseAddress.ToString()));
        Assert.Equal(_hub.FeedUrl, ClientConfig.Load(cli.Home).Sources.Single().Url);

        var refused = new (string Name, string Url, string Expected)[]
        {
            ("x", "foo", "'foo' is not a hub address"),
            ("x", "/etc/passwd", "is not a hub address"),
            ("x", "ftp://127.0.0.1/v3/index.json", "is not a hub address"),
            ("x", "http://127.0.0.1:1/\u001b[2Jx", "\\u001b"), // echoed escaped, never sent to the terminal
            ("x", new Uri(_hub.BaseAddress, "health").ToString(), "is not a NuGet v3 hub"), // JSON, but no service index
            ("x", new Uri(_hub.BaseAddress, "nothing/here/").ToString(), "answered 404"),
            ("bad\u0007name", _hub.BaseAddress.ToString(), "is not a source name"),
            ("XMOD_HUB", _hub.BaseAddress.ToString(), "is not a source name"),
        };
        foreach (var (name, url, expected) in refused)
        {
            var before = Lines(cli.StdErr).Count;
            Assert.Equal(1, await cli.RunAsync("source", "add", name, url));
            var error = Assert.Single(Lines(cli.StdErr).Skip(before));
            Assert.StartsWith("error: ", error);
            Assert.Contains(expected, error);
            Assert.DoesNotContain('\u001b', error);
        }
        Assert.Equal(["hub"], ClientConfig.Load(cli.Home).Sources.Select(s => s.Name)); // nothing refused was saved

        Assert.Equal(1, await cli.RunAsync("source", "remove", "nothere"));
        Assert.Contains("error: no source named 'nothere' (configured: hub)", cli.StdErr);
        Assert.Equal(0, await cli.RunAsync("source", "remove", "hub"));
        Assert.Empty(ClientConfig.Load(cli.Home).Sources);
    }

    [Fact]
    public async Task ADeadAndASilentSourceAreNamedAndTheNextOneAnswers()
    {
        await Push(Build("t1", "1.0.0", "de_DE"));
        using var silent = new TcpListener(IPAddress.Loopback, 0); // accepts, never answers
        silent.Start();
        var dead = new TcpListener(IPAddress.Loopback, 0); // a port nobody listens on
        dead.Start();
        var deadPort = ((IPEndPoint)dead.LocalEndpoint).Port;
        dead.Stop();

        await using var cli = new CliHarness();
        Assert.Equal(0, await cli.RunAsync("source", "add", "dead", $"http://127.0.0.1:{deadPort}/v3/index.json", "--no-check"));
        Assert.Equal(0, await cli.RunAsync("source", "add", "silent", $"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}/v3/index.json", "--no-check", "--timeout", "1"));
        Assert.Equal(0, await cli.RunAsync("source", "add", "hub", _hub.BaseAddress.ToString()));

        Assert.Equal(0, await cli.RunAsync("search", "German"));
        Assert.Contains("t1.lang-de", cli.StdOut);
        Assert.Contains("warning: source dead failed (cannot reach dead", cli.StdOut);
        Assert.Contains("warning: source silent failed (silent (", cli.StdOut);
        Assert.Contains("did not answer within 1 s", cli.StdOut);

        Assert.Equal(0, await cli.RunAsync("install", "lang-de", "--trunk", "t1"));
        Assert.Contains("installed t1.lang-de 1.0.0 from hub", cli.StdOut);
        // Not on a terminal, a download that ends at once leaves no progress line (none with a made-up "0%" ETA).
        Assert.DoesNotContain("ETA", cli.StdOut);

        Assert.Equal(1, await cli.RunAsync("install", "lang-zz", "--trunk", "t1"));
        Assert.Contains("error: t1.lang-zz is on none of the sources (dead, silent, hub); dead, silent could not be asked", cli.StdErr);

        // XMOD_OFFLINE=1 (a process of its own: the variable is process-wide): search, info and list
        // use the cache alone; not one source is asked, so none fails.
        var offline = new Dictionary<string, string> { ["XMOD_HOME"] = cli.Home, ["XMOD_OFFLINE"] = "1" };
        var search = CliProcess.Run(offline, "search", "German");
        Assert.Equal(0, search.ExitCode);
        Assert.Contains("warning: offline (XMOD_OFFLINE=1): searching the installed packages only", search.StdOut);
        Assert.Contains("t1.lang-de", search.StdOut);
        var info = CliProcess.Run(offline, "info", "lang-de", "--trunk", "t1");
        Assert.Equal(0, info.ExitCode);
        Assert.Contains("(offline, XMOD_OFFLINE=1: no hub was asked)", info.StdOut);
        Assert.Contains("installed: 1.0.0", info.StdOut);
        var missing = CliProcess.Run(offline, "info", "lang-zz", "--trunk", "t1");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("t1.lang-zz is not installed, and offline (XMOD_OFFLINE=1) no hub is asked", missing.StdErr);
        Assert.Equal(0, CliProcess.Run(offline, "list").ExitCode);
        Assert.DoesNotContain("failed", search.StdOut + search.StdErr + info.StdOut + info.StdErr + missing.StdErr);
    }

    [Fact]
    public async Task InfoShowsVersionsListedOrNotSizesLanguageLicenseMetricsCardAndTheInstallCommand()
    {
        var first = Build("t1", "1.0.0", "de_DE");
        var second = Build("t1", "1.1.0", "de_DE", seed: 0, license: "cc-by-4.0", card: "# German for t1\n\nEdited by hand. <script>alert(1)</script>\n");
        await Push(first);
        await Push(second);

        await using var cli = new CliHarness();
        Assert.Equal(0, await cli.RunAsync("source", "add", "hub", _hub.BaseAddress.ToString(), "--api-key", _key));
        Assert.Equal(0, await cli.RunAsync("unlist", "t1.lang-de@1.0.0"));
        Assert.Equal(0, await cli.RunAsync("install", "lang-de@1.0.0", "--trunk", "t1"));

        var before = cli.StdOut.Length;
        Assert.Equal(0, await cli.RunAsync("info", "lang-de", "--trunk", "t1"));
        var info = cli.StdOut[before..];
        Assert.StartsWith("t1.lang-de (language)", info);
        Assert.Contains("language: German, Deutsch (de_DE; BCP-47 de", info);
        Assert.Contains("trunk: t1 (weights sha256 ", info);
        Assert.Contains("license: CC-BY-4.0", info); // spelled as SPDX spells it
        Assert.Matches(@"hub: 1\.1\.0 +\d+(\.\d)? (kB|MB)\n", info.ReplaceLineEndings("\n"));
        Assert.Matches(@"hub: 1\.0\.0 +\d+(\.\d)? (kB|MB)  unlisted \(installs only when asked for by version\)  installed", info);
        Assert.Matches(@"installed: 1\.0\.0 \(\d+(\.\d)? (kB|MB) unpacked\)", info);
        Assert.Contains("metric: heldout_perplexity 15   (measured on the held-out split of the pre-training corpus in de_DE, never trained on)", info);
        Assert.Contains("install: xmod-hub install lang-de --trunk t1   (or pin one: lang-de@1.1.0)", info);
        Assert.Contains("  | Edited by hand. <script>alert(1)</script>", info); // the card of the newest version, as text
        Assert.Equal(0, await cli.RunAsync("uninstall", "lang-de", "--trunk", "t1"));

        var errors = Lines(cli.StdErr).Count;
        Assert.Equal(1, await cli.RunAsync("info", "lang-zz", "--trunk", "t1"));
        Assert.Equal(["error: t1.lang-zz is on none of the sources (hub) and not installed; look for it with 'xmod-hub search lang-zz'"], Lines(cli.StdErr).Skip(errors));
    }

    [Fact]
    public async Task UninstallNamesWhatItRemovesNeedsAVersionOrAllAndTakesATrunksPackagesWithIt()
    {
        await Push(Build("t2", "1.0.0", "de_DE", "fr_XX"));
        await Push(Build("t2", "1.1.0", ["de_DE", "fr_XX"], 0, null, null)); // the same trunk weights (seed 0): a newer German and French
        await using var cli = new CliHarness();
        Assert.Equal(0, await cli.RunAsync("source", "add", "hub", _hub.BaseAddress.ToString()));
        Assert.Equal(0, await cli.RunAsync("install", "lang-de@1.0.0", "--trunk", "t2"));
        Assert.Equal(0, await cli.RunAsync("install", "lang-de@1.1.0", "--trunk", "t2"));
        Assert.Equal(0, await cli.RunAsync("install", "lang-fr", "--trunk", "t2"));

        var errors = Lines(cli.StdErr).Count;
        Assert.Equal(1, await cli.RunAsync("uninstall", "lang-de", "--trunk", "t2"));
        Assert.Equal(["error: t2.lang-de is installed in 2 versions (1.0.0, 1.1.0): name one (lang-de@1.0.0) or pass --all to remove every one"],
            Lines(cli.StdErr).Skip(errors));

        var before = cli.StdOut.Length;
        Assert.Equal(0, await cli.RunAsync("uninstall", "lang-de@1.0.0", "--trunk", "t2"));
        Assert.Contains("uninstalled t2.lang-de 1.0.0\n", cli.StdOut[before..].ReplaceLineEndings("\n"));

        before = cli.StdOut.Length;
        Assert.Equal(0, await cli.RunAsync("uninstall", "t2"));
        var removed = cli.StdOut[before..];
        Assert.Matches(@"uninstalled t2 1\.[01]\.0\n", removed.ReplaceLineEndings("\n")); // the newest trunk came with the first language
        Assert.Contains("and what was built for that trunk (it cannot load without it): ", removed);
        Assert.Contains("t2.lang-de 1.1.0", removed);
        Assert.Contains("t2.lang-fr 1.1.0", removed);
        Assert.Equal(0, await cli.RunAsync("list"));
        Assert.EndsWith("nothing installed\n", cli.StdOut.ReplaceLineEndings("\n"));
    }

    /// <summary>A trunk and its language packages as .nupkg files; the language's card and license edited through `pack` when given.</summary>
    private List<string> Build(string trunkId, string version, params string[] languages) => Build(trunkId, version, languages, 0, null, null);

    private List<string> Build(string trunkId, string version, string language, int seed, string? license = null, string? card = null) =>
        Build(trunkId, version, [language], seed, license, card);

    private List<string> Build(string trunkId, string version, string[] languages, int seed, string? license, string? card)
    {
        var root = Path.Combine(_dir, $"{trunkId}-{version}-{Guid.NewGuid():N}");
        var packages = TestPackages.Build(root, trunkId, version, seed, languages);
        if (license is null && card is null)
        {
            return packages;
        }
        var dir = Path.Combine(root, $"pkg-{trunkId}-{languages[0]}-{version}");
        if (card is not null)
        {
            File.WriteAllText(Path.Combine(dir, ModelCard.FileName), card);
        }
        ModelCard.Refresh(dir, license);
        File.Delete(packages[1]);
        packages[1] = XMod.Packaging.Nupkg.NupkgWriter.Pack(dir, Path.Combine(root, "nupkgs"), "tester");
        return packages;
    }

    private async Task Push(IEnumerable<string> nupkgs)
    {
        foreach (var nupkg in nupkgs)
        {
            using var response = await _hub.PushAsync(await File.ReadAllBytesAsync(nupkg), _key);
            // The trunk of a second build with the same weights is already there.
            Assert.True(response.IsSuccessStatusCode || response.StatusCode == HttpStatusCode.Conflict, $"{nupkg}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }
}
