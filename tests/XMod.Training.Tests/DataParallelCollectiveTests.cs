using XMod.Tensors;
using XMod.Tensors.Distributed;
using XMod.Training.Distributed;

namespace XMod.Training.Tests;

/// <summary>
/// DataParallel's own collectives between two ranks on two threads of this process (Gloo does not
/// mind): a directory sent from rank 0, the end-of-run identity check, and the stop agreement.
/// </summary>
public sealed class DataParallelCollectiveTests : IDisposable
{
    private readonly TempDir _dir = new("xmod-dpc-");

    public void Dispose() => _dir.Dispose();

    /// <summary>Runs <paramref name="body"/> as rank 0 and rank 1 at once; returns what each threw (null when it did not).</summary>
    private static Exception?[] OnTwoRanks(Action<DataParallel> body)
    {
        var port = LocalLauncher.FreePort();
        var errors = new Exception?[2];
        var threads = Enumerable.Range(0, 2).Select(rank => new Thread(() =>
        {
            try
            {
                using var parallel = new DataParallel(ProcessGroup.ConnectTcp("127.0.0.1", port, rank, 2, TimeSpan.FromSeconds(30)));
                body(parallel);
            }
            catch (Exception e)
            {
                errors[rank] = e;
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        return errors;
    }

    [Fact]
    public void TheLeadersFilesReachTheOtherRank()
    {
        var source = Path.Combine(_dir.Path, "rank0");
        var target = Path.Combine(_dir.Path, "rank1");
        Directory.CreateDirectory(source);
        File.WriteAllText(Path.Combine(source, "tokenizer.json"), "{\"vocab_size\": 1000}\n");
        File.WriteAllBytes(Path.Combine(source, "sentencepiece.model"), [.. Enumerable.Range(0, 70_000).Select(i => (byte)(i * 7))]);
        File.WriteAllBytes(Path.Combine(source, "empty"), []);
        var errors = OnTwoRanks(p => p.BroadcastDirectory(p.IsLeader ? source : target));
        Assert.Equal([null, null], errors);
        foreach (var f in Directory.GetFiles(source))
        {
            Assert.Equal(File.ReadAllBytes(f), File.ReadAllBytes(Path.Combine(target, Path.GetFileName(f))));
        }
        Assert.Equal(3, Directory.GetFiles(target).Length);
    }

    [Fact]
    public void AFileNameWithControlCharactersIsRefusedByTheReceiver()
    {
        var source = Path.Combine(_dir.Path, "hostile");
        var target = Path.Combine(_dir.Path, "received");
        Directory.CreateDirectory(source);
        File.WriteAllText(Path.Combine(source, "a\nb"), "x");
        var errors = OnTwoRanks(p => p.BroadcastDirectory(p.IsLeader ? source : target));
        Assert.Null(errors[0]);
        Assert.IsType<DistributedException>(errors[1]);
        Assert.Equal("rank 0 sent a file named 'a?b', which is not a plain file name", errors[1]!.Message);
        Assert.Empty(Directory.GetFiles(target));
    }

    [Fact]
    public void RanksWhoseWeightsDifferFailTheCheckOnEveryRank()
    {
        var same = OnTwoRanks(p =>
        {
            using var t = Tensor.From(new[] { 1f, 2f, 3f }, 3);
            p.VerifyIdentical([t], "weights");
        });
        Assert.Equal([null, null], same);

        var differ = OnTwoRanks(p =>
        {
            using var t = Tensor.From(new[] { 1f, 2f, p.Rank == 0 ? 3f : 3.0001f }, 3);
            p.VerifyIdentical([t], "weights");
        });
        Assert.All(differ, e => Assert.StartsWith("the ranks' weights differ: 1 of 2 rank(s) no longer match rank 0", Assert.IsType<DistributedException>(e).Message));
    }

    [Fact]
    public void OneRanksStopRequestStopsBoth()
    {
        var stops = new bool[2];
        var losses = new double[2];
        var errors = OnTwoRanks(p =>
        {
            using var w = Tensor.From(new[] { 1f }, 1);
            w.RequiresGrad = true; // no gradient yet: it takes part with zeros
            (losses[p.Rank], stops[p.Rank]) = p.Reduce([w], p.Rank == 0 ? 1.0 : 3.0, stop: p.Rank == 1);
        });
        Assert.Equal([null, null], errors);
        Assert.Equal([true, true], stops);
        Assert.Equal([2.0, 2.0], losses);
    }
}
