using System.Text.Json;
using XMod;
using XMod.Packaging.Checkpoints;
using XMod.Packaging.Manifests;
using XMod.Packaging.Nupkg;

namespace XMod.Packaging.Tests;

/// <summary>Issue 12 item 5: cards people can edit before publishing, with a checked license; every other file stays bound to its sha256.</summary>
public sealed class ModelCardTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-card-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A German language package of a synthetic nano trunk.</summary>
    private string Package()
    {
        var model = SyntheticCheckpoint.Write(Path.Combine(_dir, "model"), XModConfig.Preset("nano") with { Languages = ["de_DE"] }, 3);
        return ModelPackages.Language(model, "t1", "de_DE", "1.0.0", Path.Combine(_dir, "lang-de"), new Dictionary<string, double> { ["heldout_perplexity"] = 12.5 });
    }

    [Theory]
    [InlineData("MIT", "MIT")]
    [InlineData("cc-by-4.0", "CC-BY-4.0")]
    [InlineData("Apache-2.0 OR MIT", "Apache-2.0 OR MIT")]
    [InlineData("GPL-2.0-or-later WITH classpath-exception-2.0", "GPL-2.0-or-later WITH Classpath-exception-2.0")]
    [InlineData("LicenseRef-Our-Terms", "LicenseRef-Our-Terms")]
    [InlineData(" CC0-1.0 ", "CC0-1.0")]
    public void SpdxExpressionsAreAcceptedAndSpelledAsSpdxSpellsThem(string typed, string expected) => Assert.Equal(expected, Licenses.Check(typed));

    [Theory]
    [InlineData("")]
    [InlineData("foo")]
    [InlineData("MIT\u001b[31m")]
    [InlineData("MIT\nApache-2.0")]
    [InlineData("MIT; rm -rf /")]
    [InlineData("MIT OR")]
    [InlineData("AND MIT")]
    [InlineData("MIT WITH")]
    [InlineData("MIT XOR Apache-2.0")]
    [InlineData("LicenseRef-")]
    [InlineData("LicenseRef-<script>")]
    [InlineData("(MIT)")]
    public void AnythingElseIsOneLineNamingTheOptionWithControlsEscaped(string hostile)
    {
        var e = Assert.Throws<XModException>(() => Licenses.Check(hostile));
        Assert.StartsWith("--license '", e.Message);
        Assert.Contains("is not an SPDX license identifier", e.Message);
        Assert.DoesNotContain(e.Message, c => char.IsControl(c));
        Assert.Throws<XModException>(() => Licenses.Check(new string('M', 5000)));
    }

    [Fact]
    public void GeneratedCardsStateUseDataMetricsWithTheirDataLimitationsAndLicense()
    {
        var dir = Package();
        var card = File.ReadAllText(Path.Combine(dir, ModelCard.FileName));
        foreach (var section in new[] { "## Intended use", "## Training data", "## Evaluation", "## Limitations", "## License" })
        {
            Assert.Contains(section, card);
        }
        Assert.Contains("| heldout_perplexity | 12.5 | the held-out split of the pre-training corpus in de_DE, never trained on |", card);
        Assert.Contains("Not stated: set one before publishing with `xmod-hub pack DIR --license SPDX-ID`", card);
        var manifest = PackageManifest.Load(dir);
        Assert.Equal("the held-out split of the pre-training corpus in de_DE, never trained on", manifest.Card!.MetricData["heldout_perplexity"]);
        Assert.NotNull(manifest.Card.IntendedUse);
        Assert.Null(manifest.Card.License);
    }

    [Fact]
    public void AnEditedCardIsListedAgainAndTheLicenseWrittenWhileWeightsStayChecked()
    {
        var dir = Package();
        var weights = File.ReadAllBytes(Path.Combine(dir, ModelFiles.LanguageModule));
        File.WriteAllText(Path.Combine(dir, ModelCard.FileName), "# German\n\nWritten by a person. <script>alert(1)</script>\n");

        var refreshed = ModelCard.Refresh(dir, "cc-by-sa-4.0");
        Assert.True(refreshed.CardChanged);
        Assert.True(refreshed.LicenseChanged);
        Assert.Contains(refreshed.Warnings, w => w.Contains("raw HTML (<script>)", StringComparison.Ordinal) && w.Contains("shows it as text", StringComparison.Ordinal));
        var manifest = PackageManifest.Load(dir);
        Assert.Equal("CC-BY-SA-4.0", manifest.Card!.License);
        manifest.Verify(dir); // the manifest now matches every file, the card included
        Assert.Equal(weights, File.ReadAllBytes(Path.Combine(dir, ModelFiles.LanguageModule)));

        // Packed, it passes the hub's own checks (the trunk looked up by the test).
        var nupkg = NupkgWriter.Pack(dir, Path.Combine(_dir, "out"), "tester");
        using (var s = File.OpenRead(nupkg))
        {
            PackageValidator.Validate(s, new PackageLimits(), _ => XModConfig.Preset("nano") with { Languages = ["de_DE"] });
        }

        // Nothing changed: nothing rewritten.
        var written = File.GetLastWriteTimeUtc(Path.Combine(dir, PackageManifest.FileName));
        Assert.False(ModelCard.Refresh(dir).CardChanged);
        Assert.Equal(written, File.GetLastWriteTimeUtc(Path.Combine(dir, PackageManifest.FileName)));
    }

    [Fact]
    public void AnEditedWeightFileOrAnAddedFileIsRefusedAndTheManifestLeftAlone()
    {
        var dir = Package();
        var manifestBefore = File.ReadAllText(Path.Combine(dir, PackageManifest.FileName));
        var module = Path.Combine(dir, ModelFiles.LanguageModule);
        var bytes = File.ReadAllBytes(module);
        bytes[^1] ^= 1;
        File.WriteAllBytes(module, bytes);
        var e = Assert.Throws<XModException>(() => ModelCard.Refresh(dir, "MIT"));
        Assert.Contains($"{ModelFiles.LanguageModule} does not match its sha256", e.Message);
        Assert.Contains("only README.md may be edited after training", e.Message);
        bytes[^1] ^= 1;
        File.WriteAllBytes(module, bytes);

        File.WriteAllText(Path.Combine(dir, "extra.bin"), "smuggled");
        e = Assert.Throws<XModException>(() => ModelCard.Refresh(dir));
        Assert.Contains("extra.bin is not listed", e.Message);
        File.Delete(Path.Combine(dir, "extra.bin"));
        Assert.Equal(manifestBefore, File.ReadAllText(Path.Combine(dir, PackageManifest.FileName)));
    }

    [Theory]
    [InlineData("# Card\n\u001b[2J cleared your screen\n", "README.md:2: control character U+001B")]
    [InlineData("# Card\n\u0000\n", "README.md:2: control character U+0000")]
    public void ACardWithControlCharactersIsRefused(string card, string expected)
    {
        var dir = Package();
        File.WriteAllText(Path.Combine(dir, ModelCard.FileName), card);
        Assert.Contains(expected, Assert.Throws<XModException>(() => ModelCard.Refresh(dir)).Message);
    }

    [Fact]
    public void ACardThatIsNotUtf8OrTooLargeIsRefused()
    {
        var dir = Package();
        File.WriteAllBytes(Path.Combine(dir, ModelCard.FileName), [0x23, 0x20, 0xC3, 0x28]);
        Assert.Contains("is not UTF-8 text", Assert.Throws<XModException>(() => ModelCard.Refresh(dir)).Message);
        File.WriteAllText(Path.Combine(dir, ModelCard.FileName), new string('a', ModelCard.MaxCardBytes + 1));
        Assert.Contains("a model card may be at most 256 KiB", Assert.Throws<XModException>(() => ModelCard.Refresh(dir)).Message);
    }

    [Theory]
    [InlineData("""{"license": "MIT\u001b[31m"}""", "card: license")]
    [InlineData("""{"license": "not-a-license"}""", "card: license 'not-a-license' is not an SPDX license expression")]
    [InlineData("""{"data_sources": null}""", "card: data_sources must be a list of strings")]
    [InlineData("""{"data_sources": [null]}""", "card: data_sources must be a list of strings")]
    [InlineData("""{"metric_data": {"ppl": null}}""", "card: metric_data must be an object of strings")]
    [InlineData("""{"intended_use": "a\u0007b"}""", "card: every text is at most")]
    public void AHostileCardInAManifestIsRefusedWhenLoadedAndByTheValidator(string card, string expected)
    {
        var dir = Package();
        var path = Path.Combine(dir, PackageManifest.FileName);
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!;
        json["card"] = System.Text.Json.Nodes.JsonNode.Parse(card);
        File.WriteAllText(path, json.ToJsonString());
        Assert.Contains(expected, Assert.Throws<PackagingException>(() => PackageManifest.Load(dir)).Message);
        Assert.NotNull(JsonSerializer.Deserialize<PackageManifest>(File.ReadAllText(path))!.Card?.Problem());
    }

    [Fact]
    public void ThePackedNuspecCarriesTheCardsLicenseAsANuGetLicenseExpression()
    {
        var dir = Package();
        using (var zip = System.IO.Compression.ZipFile.OpenRead(NupkgWriter.Pack(dir, Path.Combine(_dir, "none"), "tester")))
        {
            using var reader = new StreamReader(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
            Assert.DoesNotContain("<license", reader.ReadToEnd(), StringComparison.Ordinal); // no license stated, none claimed
        }
        ModelCard.Refresh(dir, "Apache-2.0 OR MIT");
        using (var zip = System.IO.Compression.ZipFile.OpenRead(NupkgWriter.Pack(dir, Path.Combine(_dir, "mit"), "tester")))
        {
            using var reader = new StreamReader(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
            var nuspec = System.Xml.Linq.XDocument.Parse(reader.ReadToEnd());
            var license = nuspec.Descendants().Single(e => e.Name.LocalName == "license");
            Assert.Equal(("expression", "Apache-2.0 OR MIT"), (license.Attribute("type")?.Value, license.Value));
        }
    }
}
