using XMod;
using XMod.Runtime.Model;
using XMod.Runtime.Tasks;
using XMod.Runtime.Tokenization;
using XMod.Training.AddLanguage;
using XMod.Training.FineTuning;

namespace Hub.Cli.Tests;

/// <summary>The input parsing the verbs hand to the libraries: hostile files and values are one XModException each.</summary>
public sealed class CommandInputTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-cli-inputs-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, params string[] lines)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllLines(path, lines);
        return path;
    }

    [Fact]
    public void TaskDataFilesOfEveryKindRead()
    {
        var seq = Write("seq.tsv", "pos\tgood film", "", "neg\tbad film");
        var (examples, labels) = TaskDataFile.Read(seq, TaskKind.SequenceClassification, null);
        Assert.Equal(["neg", "pos"], labels);
        Assert.Equal([1, 0], examples.Select(e => e.Label));

        var tags = Write("tags.tsv", "B-PER O\tAda sings");
        var (tagged, tagLabels) = TaskDataFile.Read(tags, TaskKind.TokenClassification, "O,B-PER");
        Assert.Equal(["O", "B-PER"], tagLabels);
        Assert.Equal([1, 0], tagged[0].WordLabels!);

        var qa = Write("qa.jsonl", """{"question": "who", "context": "Ada wrote it", "answer": "Ada"}""");
        var (answers, _) = TaskDataFile.Read(qa, TaskKind.QuestionAnswering, null);
        Assert.Equal((0, 3), (answers[0].AnswerStart, answers[0].AnswerLength));
    }

    [Theory]
    [InlineData("sequence-classification", "pos good film", ":1: expected 'label<TAB>text'")]
    [InlineData("sequence-classification", "pos\tgood", ":1: label 'pos' is not among neg")]
    [InlineData("token-classification", "O O\tthree words here", ":1: 2 tags for 3 words")]
    [InlineData("question-answering", "not json", ":1: expected JSON with question, context and answer")]
    [InlineData("question-answering", """{"question": 1, "context": "c", "answer": "c"}""", ":1: expected JSON with question, context and answer")]
    [InlineData("question-answering", """{"question": "q", "context": null, "answer": "c"}""", ":1: expected JSON with question, context and answer")]
    [InlineData("question-answering", """{"question": "q", "context": "abc", "answer": "zzz"}""", ":1: the answer does not occur in the context")]
    public void HostileTaskDataIsOneLineNamingFileAndLine(string kind, string line, string expected)
    {
        var path = Write("bad.txt", line);
        var e = Assert.Throws<XModException>(() => TaskDataFile.Read(path, TaskDataFile.ParseKind(kind), kind == "sequence-classification" && line.Contains('\t') ? "neg" : null));
        Assert.Equal(path + expected, e.Message);
    }

    [Fact]
    public void MissingDataFileAndUnknownTaskAreUserErrors()
    {
        Assert.Throws<XModException>(() => TaskDataFile.Read(Path.Combine(_dir, "none.tsv"), TaskKind.SequenceClassification, null));
        Assert.Throws<XModException>(() => TaskDataFile.ParseKind("../../etc/passwd"));
    }

    [Theory]
    [InlineData("0,999", 1000, new long[] { 0, 999 })]
    [InlineData(" 3 , 4 ,", 10, new long[] { 3, 4 })]
    public void TokenIdsParse(string list, int vocab, long[] expected) => Assert.Equal(expected, TokenIds.Parse(list, vocab));

    [Theory]
    [InlineData("0,1000", "'1000' is not a token id in [0, 1000)")]
    [InlineData("-1", "'-1' is not a token id")]
    [InlineData("99999999999999999999", "is not a token id")]
    [InlineData("0x10", "'0x10' is not a token id")]
    [InlineData(" , ", "--ids is empty")]
    public void HostileTokenIdsAreRejected(string list, string expected) =>
        Assert.Contains(expected, Assert.Throws<XModException>(() => TokenIds.Parse(list, 1000)).Message);

    [Fact]
    public void QuestionInputsNeedOneSeparator()
    {
        Assert.Equal(("who", "Ada wrote it"), TaskInputs.Question(" who ||| Ada wrote it "));
        Assert.Throws<XModException>(() => TaskInputs.Question("who wrote it"));
        Assert.Throws<XModException>(() => TaskInputs.Question("a ||| b ||| c"));
    }

    [Fact]
    public void AddLanguageResolvesIdsAndReadsItsText()
    {
        var yo = new AddLanguageOptions { Language = "lang-yo" };
        Assert.Equal("yo_NG", yo.Describe().Code);
        Assert.Equal("yo_NG", (yo with { Language = "yor" }).Describe().Code);
        Assert.Equal("lang-yo", AddLanguageOptions.PackageId(yo.Describe()));
        Assert.Equal("lang-yo", AddLanguageOptions.PackageId((yo with { Language = "yo" }).Describe()));
        var text = LanguageText.Read(Write("yo.txt", "a", "b"), "yo_NG", 5);
        Assert.Equal(["a", "b"], text.Train.Concat(text.HeldOut).Order(StringComparer.Ordinal));
        Assert.Empty(text.Train.Intersect(text.HeldOut));
        Assert.Equal("yo.txt", text.Source);
        Assert.Throws<XModException>(() => LanguageText.Read(Path.Combine(_dir, "none"), "yo_NG", 5));
    }
}
