using System.Text.Json;
using XMod.Runtime.Serving;

namespace Hub.Cli.Tests;

/// <summary>
/// Issue 12, item 10: the newcomer's path, by id all the way, against a real hub process. A
/// maintainer publishes a nano trunk; a contributor installs it by id, adds Yoruba with
/// --trunk ID, publishes it by its short id and a task fine-tuned on the trunk; another user, with
/// another cache, installs them and runs fill-mask, predict and the runtime API by id.
/// </summary>
public sealed class NewcomerPathTests : IDisposable
{
    private const string TrunkId = "newcomer-nano";

    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-newcomer-").FullName;

    public void Dispose() => TempDir.Delete(_dir);

    /// <summary>The CLI as <paramref name="user"/> (an XMOD_HOME of its own), in <paramref name="cwd"/>.</summary>
    private static CliProcess.Result Any(string user, string? cwd, params string[] args)
    {
        var r = ProcessRunner.Run("dotnet", [CliProcess.Dll, .. args], new Dictionary<string, string> { ["XMOD_HOME"] = user }, cwd, TimeSpan.FromMinutes(10));
        return new CliProcess.Result(r.ExitCode, r.StdOut, r.StdErr);
    }

    private static CliProcess.Result Ok(string user, string? cwd, params string[] args)
    {
        var r = Any(user, cwd, args);
        return r.ExitCode == 0 ? r : throw new InvalidOperationException($"xmod-hub {string.Join(' ', args)} failed ({r.ExitCode}): {r.StdErr}{r.StdOut}");
    }

    private static void OneClearLine(CliProcess.Result r, string expected)
    {
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(expected, r.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("this is a bug", r.StdOut + r.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.StdErr, StringComparison.Ordinal);
    }

    private static string ManifestTrunkId(string dir)
    {
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "xmod.json")));
        return manifest.RootElement.GetProperty("trunk").GetProperty("id").GetString()!;
    }

    [Fact]
    public async Task InstallATrunkByIdAddALanguagePublishItAndUseItByIdAsAnotherUser()
    {
        var nano = PretrainedNano.Get();
        var run = PretrainedNano.CopyRun(nano.XModRun, Path.Combine(_dir, "run"));
        var yoruba = Path.Combine(nano.UdhrDir, "yo_NG", "train.txt");
        using var hub = await HubProcess.StartAsync(Path.Combine(_dir, "hub"));

        // The maintainer publishes the trunk and its pre-trained languages.
        var maintainer = Path.Combine(_dir, "maintainer");
        Ok(maintainer, null, "source", "add", "hub", hub.FeedUrl, "--api-key", hub.AdminKey);
        Ok(maintainer, null, "publish", "--model", run, "--trunk-id", TrunkId, "--version", "1.0.0");

        // The contributor installs the trunk by id and adds Yoruba on it by id, in a working directory of their own.
        var contributor = Path.Combine(_dir, "contributor");
        var work = Path.Combine(_dir, "work");
        Directory.CreateDirectory(work);
        Ok(contributor, work, "source", "add", "hub", hub.FeedUrl, "--api-key", hub.AdminKey);
        Ok(contributor, work, "install", TrunkId);
        string[] addYoruba = ["add-language", "lang-yo", "--corpus", yoruba, "--trunk", TrunkId, "--steps", "4", "--batch", "4", "--seq", "32", "--vocab", "600"];
        var added = Ok(contributor, work, addYoruba);
        Assert.Contains("added yo_NG", added.StdOut, StringComparison.Ordinal);
        Assert.Contains("heldout.txt", added.StdOut, StringComparison.Ordinal); // the corpus's own held-out split, not training text
        var module = Path.Combine(work, "modules", "lang-yo");
        Assert.Equal(TrunkId, ManifestTrunkId(module));
        // A trained module is not overwritten silently; a trunk id publish would refuse is refused before training.
        var manifestBefore = File.ReadAllText(Path.Combine(module, "xmod.json"));
        OneClearLine(Any(contributor, work, addYoruba), "--force");
        OneClearLine(Any(contributor, work, [.. addYoruba, "--out", Path.Combine(work, "other"), "--trunk-id", "../evil"]), "not a valid package id");
        Assert.False(Directory.Exists(Path.Combine(work, "other")));
        Assert.Equal(manifestBefore, File.ReadAllText(Path.Combine(module, "xmod.json")));
        Assert.Contains($"published {TrunkId}.lang-yo.1.0.0", Ok(contributor, work, "publish", "lang-yo").StdOut, StringComparison.Ordinal);

        // A task fine-tuned on the installed trunk by id, in English (its installed package), published as well.
        Ok(contributor, work, "install", "lang-en");
        var train = Path.Combine(work, "train.tsv");
        File.WriteAllLines(train, nano.Corpus.Train("en_XX").Take(8).Select((t, i) => $"{(i % 2 == 0 ? "even" : "odd")}\t{t}"));
        Ok(contributor, work, "finetune", "--trunk", TrunkId, "--train", train, "--lang", "en", "--out", "tasks/sections", "--name", "sections",
            "--epochs", "1", "--batch", "4", "--max-length", "32");
        Assert.Equal(TrunkId, ManifestTrunkId(Path.Combine(work, "tasks", "sections")));
        Ok(contributor, work, "publish", Path.Combine(work, "tasks", "sections"));

        // A module added on the run itself names the trunk it was installed as (same weights); from a cache that
        // lacks the trunk it is named after the run, with a warning, and publish --trunk-id puts that right.
        var stranger = Path.Combine(_dir, "stranger");
        var fromRun = Path.Combine(work, "yo-from-run");
        var warned = Ok(stranger, work, "add-language", "yo", "--corpus", yoruba, "--trunk", run, "--out", fromRun, "--version", "1.0.1",
            "--steps", "2", "--batch", "4", "--seq", "32", "--vocab", "600");
        Assert.Contains("give --trunk-id", warned.StdOut, StringComparison.Ordinal);
        Assert.Equal("run", ManifestTrunkId(fromRun));
        Assert.Equal(1, Any(contributor, work, "publish", fromRun).ExitCode);
        Assert.Contains($"published {TrunkId}.lang-yo.1.0.1", Ok(contributor, work, "publish", fromRun, "--trunk-id", TrunkId).StdOut, StringComparison.Ordinal);
        Assert.Equal("run", ManifestTrunkId(fromRun)); // the directory given is left as it was
        OneClearLine(Any(contributor, work, "publish", fromRun, "--trunk-id", "a/../b"), "not a valid package id");

        // Another user with an empty cache installs by id and uses everything by id.
        var user = Path.Combine(_dir, "user");
        Ok(user, null, "source", "add", "hub", hub.FeedUrl);
        Assert.Contains("installing the trunk first", Ok(user, null, "install", "lang-yo@1.0.0", "--trunk", TrunkId).StdOut, StringComparison.Ordinal);
        Ok(user, null, "install", "lang-de");
        Ok(user, null, "install", "task-sections");
        Assert.Equal(0, Ok(user, null, "fill-mask", "--model", TrunkId, "--lang", "yo", "--text", "Gbogbo ènìyàn ni a bí ní <mask>").ExitCode);
        Assert.Equal(0, Ok(user, null, "fill-mask", "--model", TrunkId, "--lang", "de", "--text", "Die Datei wird <mask>.").ExitCode);
        Assert.Equal(0, Ok(user, null, "encode", "--model", $"{TrunkId}@1.0.0", "--lang", "de-DE", "--text", "Hallo Welt").ExitCode);
        Assert.Contains("Gbogbo ènìyàn", Ok(user, null, "predict", "--model", "task-sections", "--lang", "yor", "--text", "Gbogbo ènìyàn ni a bí ní òmìnira").StdOut,
            StringComparison.Ordinal);
        Assert.Contains("Die Datei", Ok(user, null, "predict", "--model", "sections", "--trunk", TrunkId, "--module", "lang-de", "--lang", "de_DE",
            "--text", "Die Datei wird gelesen.").StdOut, StringComparison.Ordinal);
        Assert.Equal(0, Ok(user, null, "evaluate-task", "--model", "task-sections", "--lang", "lang-de", "--data", train).ExitCode);

        // Mistakes are one line saying what was tried.
        OneClearLine(Any(user, null, "fill-mask", "--model", "xmod-nothere", "--lang", "de", "--text", "<mask>"), "install it with 'xmod-hub install xmod-nothere'");
        OneClearLine(Any(user, null, "fill-mask", "--model", "../nothere", "--lang", "de", "--text", "<mask>"), "not found");
        OneClearLine(Any(user, null, "fill-mask", "--model", TrunkId, "--lang", "fr", "--text", "<mask>"), "install it with 'xmod-hub install lang-fr --trunk newcomer-nano'");
        OneClearLine(Any(user, null, "fill-mask", "--model", TrunkId, "--lang", "zz", "--text", "<mask>"), "no language 'zz'");

        // The runtime API by id: the trunk, its languages in any form, a task by its name.
        using var runtime = XModRuntime.Open(new XModRuntimeOptions { Home = user, Trunk = TrunkId, Languages = ["yo", "deu"] });
        Assert.Equal(["yo_NG", "de_DE"], runtime.Languages);
        using (var task = runtime.OpenTask("sections"))
        {
            Assert.Single(task.Classify(["Die Datei wird gelesen."], "de"));
            Assert.Single(task.Classify(["Gbogbo ènìyàn ni a bí ní òmìnira"], "lang-yo"));
            Assert.Throws<XMod.XModException>(() => task.Classify(["x"], "fr"));
        }
        Assert.NotEmpty(runtime.FillMask("Die Datei wird <mask>.", "de-DE")[0]);
        runtime.UnloadLanguage("yor");
        Assert.Equal(["de_DE"], runtime.Languages);
        Assert.NotEmpty(runtime.Encode("x", "yo")); // an installed language loads again on its first use
        Assert.Contains("yo_NG", runtime.Languages);
        Assert.Equal("yo_NG", runtime.LoadLanguage($"{TrunkId}.lang-yo@1.0.0"));
    }
}
