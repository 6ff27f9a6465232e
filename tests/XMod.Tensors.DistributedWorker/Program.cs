using XMod;
using XMod.Tensors.DistributedWorker;

// usage: XMod.Tensors.DistributedWorker SCENARIO RANK WORLD_SIZE STORE TIMEOUT_MS
//   STORE is tcp:HOST:PORT or file:PATH. Exit 0 when the scenario held, 1 with one line on stderr
//   when it did not; the "die" scenarios end the process abruptly on purpose.
if (args.Length != 5)
{
    Console.Error.WriteLine("usage: XMod.Tensors.DistributedWorker SCENARIO RANK WORLD_SIZE STORE TIMEOUT_MS");
    return 2;
}
try
{
    var scenario = args[0];
    var rank = int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture);
    var worldSize = int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
    var timeout = TimeSpan.FromMilliseconds(long.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture));
    using var group = DistributedScenarios.Join(args[3], rank, worldSize, timeout);
    DistributedScenarios.Run(scenario, group);
    Console.WriteLine($"rank {rank}: {scenario} ok");
    return 0;
}
catch (XModException e)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}
