using XMod.Tensors.SentencePiece;

namespace XMod.Tensors.Tests;

public sealed class SentencePieceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-spm-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private (string Train, string[] HeldOut) SplitRealText()
    {
        // Paragraph lines of a real English text; every 10th line is held out of training.
        var lines = File.ReadAllLines(TestData.EnglishText)
            .Select(l => string.Join(' ', l.Split(' ', StringSplitOptions.RemoveEmptyEntries)))
            .Where(l => l.Length > 20)
            .ToArray();
        Assert.True(lines.Length > 300, $"{TestData.EnglishText} is too short");
        var train = Path.Combine(_dir, "train.txt");
        File.WriteAllLines(train, lines.Where((_, i) => i % 10 != 0));
        return (train, lines.Where((_, i) => i % 10 == 0).ToArray());
    }

    [Fact]
    public void TrainsOnRealTextAndRoundTrips()
    {
        var (train, heldOut) = SplitRealText();
        var prefix = Path.Combine(_dir, "en");
        SentencePieceTrainer.Train([train], prefix, new SentencePieceOptions { VocabSize = 500, Threads = 2, ByteFallback = true });
        Assert.True(File.Exists(prefix + ".model"));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp-*"));

        using var spm = SentencePieceModel.Load(prefix + ".model");
        Assert.Equal(500, spm.VocabSize);
        Assert.Equal((3, 0, 2, 1), spm.SpecialIds); // fairseq order: <s>=0 <pad>=1 </s>=2 <unk>=3

        foreach (var line in heldOut)
        {
            var ids = spm.Encode(line);
            Assert.NotEmpty(ids);
            Assert.True(ids.Length < line.Length, "a trained vocabulary compresses text");
            Assert.Equal(line, spm.Decode(ids)); // exact: unseen characters fall back to bytes
        }
        Assert.True(spm.Encode("naïve ☃").Length > 0);
        Assert.Equal("naïve ☃", spm.Decode(spm.Encode("naïve ☃")));

        var piece = spm.IdToPiece(spm.Encode("the")[^1]);
        Assert.Equal(spm.Encode("the")[^1], spm.PieceToId(piece));

        // The serialized model (what a package carries) encodes identically.
        using var copy = SentencePieceModel.FromBytes(spm.ToBytes());
        Assert.Equal(spm.Encode(heldOut[0]), copy.Encode(heldOut[0]));
    }

    [Fact]
    public void ErrorsNameTheProblem()
    {
        var missing = Assert.Throws<XModException>(() => SentencePieceModel.Load(Path.Combine(_dir, "nope.model")));
        Assert.Contains("does not exist", missing.Message);

        var garbage = Path.Combine(_dir, "garbage.model");
        File.WriteAllText(garbage, "not a model");
        Assert.Throws<TokenizerException>(() => SentencePieceModel.Load(garbage));

        var (train, _) = SplitRealText();
        var tooBig = Assert.Throws<TokenizerException>(() =>
            SentencePieceTrainer.Train([train], Path.Combine(_dir, "big"), new SentencePieceOptions { VocabSize = 100_000 }));
        Assert.Contains("Vocabulary size", tooBig.Message);
        Assert.False(File.Exists(Path.Combine(_dir, "big.model")));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp-*"));

        using var spm = TrainSmall(train);
        var outOfRange = Assert.Throws<TokenizerException>(() => spm.Decode([5, 100_000]));
        Assert.Contains("100000", outOfRange.Message);
    }

    private SentencePieceModel TrainSmall(string train)
    {
        var prefix = Path.Combine(_dir, "small");
        SentencePieceTrainer.Train([train], prefix, new SentencePieceOptions { VocabSize = 200, Threads = 1 });
        return SentencePieceModel.Load(prefix + ".model");
    }
}
