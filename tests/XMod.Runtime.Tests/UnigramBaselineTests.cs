using XMod.Runtime.Model;
using XMod.Runtime.Scoring;
using XMod.Runtime.Tokenization;
using XMod.Tensors.SentencePiece;

namespace XMod.Runtime.Tests;

/// <summary>Issue 12 item 9: the unigram floor the quickstart prints beside the trained and the untrained model.</summary>
public sealed class UnigramBaselineTests : IDisposable
{
    // Ids 0..3 are <s> <pad> </s> <unk>, 9 is <mask>: ids 4..8 are the five regular tokens.
    private const int Vocab = 10, Mask = 9;
    private static readonly Func<int, bool> s_special = id => id <= XModTokenizer.Unk || id == Mask;

    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-unigram-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static StandardScores Score(int[] train, int[] heldOut, int length = 34) =>
        UnigramBaseline.Score(train, heldOut, Vocab, Mask, s_special, "xx_XX", length);

    [Fact]
    public void PerplexityAndAccuracyFollowTheTrainingFrequencies()
    {
        // 95 x token 4 and 5 x token 5, add-one over the 5 regular ids: p(4) = 96/105, p(5) = 6/105.
        int[] train = [.. Enumerable.Repeat(4, 95), .. Enumerable.Repeat(5, 5)];
        var common = Score(train, [.. Enumerable.Repeat(4, 200)]);
        Assert.Equal(105.0 / 96, common.Perplexity, 9);
        Assert.Equal((1.0, 1.0), (common.Top1, common.Top5));
        Assert.True(common.MaskedTokens >= common.MaskPositions && common.MaskPositions > 0);

        var rarer = Score(train, [.. Enumerable.Repeat(5, 200)]);
        Assert.Equal(105.0 / 6, rarer.Perplexity, 9);
        Assert.Equal((0.0, 1.0), (rarer.Top1, rarer.Top5)); // second most frequent: not the first guess, among the five

        // A held-out token the training text never had keeps its add-one share (no infinite perplexity).
        var unseen = Score(train, [.. Enumerable.Repeat(8, 200)]);
        Assert.Equal(105.0, unseen.Perplexity, 9);
    }

    [Fact]
    public void WithoutTrainingTextEveryRegularTokenIsEquallyLikely()
    {
        // Ids outside the vocabulary, negative ones and special ones in the training text are no evidence.
        var scores = Score([-1, 0, 2, Mask, Vocab, int.MaxValue], [4, 5, 6, 7, 8, 4, 5, 6]);
        Assert.Equal(5.0, scores.Perplexity, 9);
    }

    [Fact]
    public void HostileInputsAreRefusedWithOneClearLine()
    {
        int[] train = [4, 5, 6];
        Assert.Contains("no xx_XX text", Assert.Throws<XModException>(() => Score(train, [])).Message);
        Assert.Contains("too short", Assert.Throws<XModException>(() => Score(train, [4, 5], length: 2)).Message);
        Assert.Contains("too short", Assert.Throws<XModException>(() => Score(train, [4, 5], length: int.MinValue)).Message);
        Assert.Contains("outside the vocabulary", Assert.Throws<XModException>(() => Score(train, [4, Vocab])).Message);
        Assert.Contains("outside the vocabulary", Assert.Throws<XModException>(() => Score(train, [4, -7])).Message);
        // Only special tokens: nothing can be masked, and a perplexity of 1 on nothing would read as perfect.
        Assert.Contains("no xx_XX held-out token was masked", Assert.Throws<XModException>(() => Score(train, [2, 2, 2, 3])).Message);
        Assert.Throws<XModException>(() => UnigramBaseline.Score(train, [4], Vocab, maskId: Vocab, s_special, "xx_XX", 34));
    }

    [Fact]
    public void MasksExactlyTheTokensAModelIsScoredOn()
    {
        var text = Path.Combine(_dir, "text.txt");
        var lines = File.ReadAllLines("/usr/share/common-licenses/GPL-3").Where(l => l.Trim().Length > 20).ToList();
        File.WriteAllLines(text, lines);
        SentencePieceTrainer.Train([text], Path.Combine(_dir, "spm"), new SentencePieceOptions { VocabSize = 200, Threads = 1 });
        using var tokenizer = XModTokenizer.FromModel(SentencePieceModel.Load(Path.Combine(_dir, "spm.model")), TokenIdScheme.Native);
        var train = TokenStreams.Encode(lines.Take(200), tokenizer);
        var heldOut = TokenStreams.Encode(lines.Skip(200).Take(60), tokenizer);
        using var model = XModModel.Initialize(ModelTests.Nano() with { VocabSize = tokenizer.VocabSize, MaskTokenId = tokenizer.MaskId }, 3);

        var untrained = StandardScoring.Score(model, tokenizer, heldOut, "en_XX", 32, maxTokens: 2000);
        var unigram = UnigramBaseline.Score(train, heldOut, tokenizer, "en_XX", 32, maxTokens: 2000);
        Assert.Equal((untrained.Blocks, untrained.MaskedTokens, untrained.MaskPositions), (unigram.Blocks, unigram.MaskedTokens, unigram.MaskPositions));
        // Frequencies of the same licence's other paragraphs already tell a lot: a random model does not know them.
        Assert.True(unigram.Perplexity < untrained.Perplexity, $"unigram {unigram.Perplexity:F1} vs untrained {untrained.Perplexity:F1}");
        Assert.True(unigram.Top5 > 0.1, $"unigram top-5 {unigram.Top5:P1}");
    }
}
