using XMod.Runtime.Tasks;

namespace XMod.Runtime.Tests;

/// <summary>Issue 12 item 8: per-label precision, recall and F1 as evaluate-task prints them; token-level F1 for tagging; SQuAD-style answers.</summary>
public sealed class TaskMetricsTests
{
    [Fact]
    public void PerLabelPrecisionRecallAndF1()
    {
        // gold a a a b b c; predicted a a b b c c
        var scores = TaskMetrics.Score([(0, 0), (0, 0), (0, 1), (1, 1), (1, 2), (2, 2)], ["a", "b", "c"]);
        Assert.Equal(6, scores.Count);
        Assert.Equal(4 / 6.0, scores.Accuracy, 6);
        var (a, b, c) = (scores.Classes[0], scores.Classes[1], scores.Classes[2]);
        Assert.Equal(("a", 3, 1.0, 2 / 3.0), (a.Label, a.Support, a.Precision, a.Recall));
        Assert.Equal((0.5, 0.5, 0.5), (b.Precision, b.Recall, b.F1));
        Assert.Equal((0.5, 1.0), (c.Precision, c.Recall));
        Assert.Equal(0.8, a.F1, 6);
        Assert.Equal((0.8 + 0.5 + 2 / 3.0) / 3, scores.MacroF1, 6);
        Assert.Null(scores.EntityF1);
    }

    [Fact]
    public void TaggingF1LeavesTheOutsideTagOut()
    {
        // O O B-PER B-PER O; predicted O B-PER B-PER O O: 1 right of 2 predicted and of 2 gold
        var scores = TaskMetrics.Score([(0, 0), (0, 1), (1, 1), (1, 0), (0, 0)], ["O", "B-PER"], outside: "O");
        Assert.Equal(0.5, scores.EntityF1!.Value, 6);
        Assert.Equal(0.6, scores.Accuracy, 6); // word accuracy counts the many easy O's; the F1 does not
    }

    [Fact]
    public void ALabelNeverSeenScoresZeroAndDoesNotCountInTheMacroMean()
    {
        var scores = TaskMetrics.Score([(0, 0), (0, 0)], ["a", "b"]);
        Assert.Equal((0.0, 0.0, 0.0, 0), (scores.Classes[1].Precision, scores.Classes[1].Recall, scores.Classes[1].F1, scores.Classes[1].Support));
        Assert.Equal(1.0, scores.MacroF1, 6);
        Assert.Throws<XModException>(() => TaskMetrics.Score([], ["a"]));
    }

    [Fact]
    public void AnswersScoreByExactMatchAndWordOverlap()
    {
        var scores = TaskMetrics.ScoreAnswers([("Ada Lovelace", "ada lovelace."), ("in 1843", "1843"), ("Babbage", "")]);
        Assert.Equal(1 / 3.0, scores.ExactMatch, 6);
        Assert.Equal((1 + 2 / 3.0 + 0) / 3, scores.F1, 6);
    }
}
