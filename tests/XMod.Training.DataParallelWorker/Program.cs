using System.Globalization;
using System.Security.Cryptography;
using XMod;
using XMod.Training.Corpora;
using XMod.Training.Distributed;
using XMod.Training.Pretraining;

// usage: XMod.Training.DataParallelWorker start|resume CORPUS RUN STEPS STOP_AT BATCH OUT [DIE_AT_STEP]
//   Trains steps 1..STOP_AT (or, resuming, from the checkpoint to STOP_AT) of a nano run of STEPS
//   steps with dropout off (its draws depend on the batch's shape, so 2 x 8 could not match 1 x 16),
//   then rank 0 saves a checkpoint. Writes OUT/losses.RANK (one loss per step, round-trip format)
//   and OUT/params.RANK (SHA-256 of every parameter's bytes). With torchrun's variables set it is
//   one rank of a data-parallel run; with DIE_AT_STEP, rank 1 exits with code 3 before that step.
//   Other modes (add-language, finetune, interrupt): see Modes.cs.
if (args.Length > 0 && args[0] is "add-language" or "finetune" or "interrupt")
{
    return Modes.Run(args);
}
var inv = CultureInfo.InvariantCulture;
if (args.Length is < 7 or > 8)
{
    Console.Error.WriteLine("usage: XMod.Training.DataParallelWorker start|resume CORPUS RUN STEPS STOP_AT BATCH OUT [DIE_AT_STEP]");
    return 2;
}
try
{
    var (mode, corpusDir, runDir) = (args[0], args[1], args[2]);
    var steps = int.Parse(args[3], inv);
    var stopAt = int.Parse(args[4], inv);
    var batch = int.Parse(args[5], inv);
    var outDir = args[6];
    int? dieAt = args.Length == 8 ? int.Parse(args[7], inv) : null;
    using var parallel = DataParallel.FromEnvironment(TimeSpan.FromSeconds(60));
    var rank = parallel?.Rank ?? 0;
    var options = Modes.NanoPretraining(steps, batch) with { KeepCheckpoints = 5 };
    using var trainer = mode == "resume"
        ? Pretrainer.Resume(runDir, _ => { }, parallel: parallel, batchSize: batch)
        : Pretrainer.Start(Corpus.Open(corpusDir), runDir, options, _ => { }, parallel: parallel);
    trainer.Model.Training = false;
    var losses = new List<string>();
    while (trainer.Step < stopAt)
    {
        if (dieAt == trainer.Step + 1 && rank == 1)
        {
            Environment.Exit(3);
        }
        losses.Add(trainer.TrainStep().Loss.ToString("R", inv));
    }
    if (rank == 0)
    {
        trainer.SaveCheckpoint();
    }
    using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    foreach (var p in trainer.Model.NamedParameters)
    {
        sha.AppendData(System.Text.Encoding.UTF8.GetBytes(p.Key));
        sha.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(p.Value.ToArray<float>().AsSpan()));
    }
    File.WriteAllLines(Path.Combine(outDir, $"losses.{rank}"), losses);
    File.WriteAllText(Path.Combine(outDir, $"params.{rank}"), Convert.ToHexString(sha.GetHashAndReset()));
    return 0;
}
catch (XModException e)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}
