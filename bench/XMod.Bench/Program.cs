using XMod.Bench;

// usage: XMod.Bench <suite> [--baseline PATH] [--rounds N]
var suite = args.Length > 0 ? args[0] : "foundation";
string? Option(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

var rounds = int.Parse(Option("--rounds") ?? "5", System.Globalization.CultureInfo.InvariantCulture);
return suite switch
{
    "foundation" => FoundationBench.Run(Option("--baseline") ?? throw new ArgumentException("--baseline PATH to torch_baseline is required"), rounds),
    "pretrain" => PretrainBench.Run(Option("--repo") ?? throw new ArgumentException("--repo PATH is required"), rounds),
    "xlingual" => CrossLingualBench.Run(Option("--work") ?? Path.Combine(Path.GetTempPath(), "xmod-bench-xlingual"),
        int.Parse(Option("--steps") ?? "400", System.Globalization.CultureInfo.InvariantCulture),
        int.Parse(Option("--languages") ?? "10", System.Globalization.CultureInfo.InvariantCulture)),
    "hub" => await HubBench.RunAsync(Option("--nginx") ?? "/usr/sbin/nginx", rounds),
    "runtime" => await RuntimeBench.RunAsync(rounds),
    "hub-bigpkg" => await HubBigPackageBench.RunAsync(Option("--nginx") ?? "/usr/sbin/nginx", int.Parse(Option("--rounds") ?? "2", System.Globalization.CultureInfo.InvariantCulture),
        int.Parse(Option("--languages") ?? "81", System.Globalization.CultureInfo.InvariantCulture), Option("--work")),
    "hub-search-scale" => await HubSearchScaleBench.RunAsync(int.Parse(Option("--ids") ?? "100000", System.Globalization.CultureInfo.InvariantCulture), rounds),
    "hub-scale" => await HubScaleBench.RunAsync(new HubScaleBench.Options(Option("--nginx") ?? "/usr/sbin/nginx",
        int.Parse(Option("--rounds") ?? "3", System.Globalization.CultureInfo.InvariantCulture),
        int.Parse(Option("--trunks") ?? "8", System.Globalization.CultureInfo.InvariantCulture),
        int.Parse(Option("--languages") ?? "300", System.Globalization.CultureInfo.InvariantCulture),
        int.Parse(Option("--seconds") ?? "10", System.Globalization.CultureInfo.InvariantCulture),
        int.Parse(Option("--clients") ?? "8", System.Globalization.CultureInfo.InvariantCulture),
        int.Parse(Option("--push-layers") ?? "8", System.Globalization.CultureInfo.InvariantCulture))),
    "allreduce" => AllReduceBench.Run(args, int.Parse(Option("--rounds") ?? "20", System.Globalization.CultureInfo.InvariantCulture)),
    "load" => LoadBench.Run(Option("--work") ?? Path.GetTempPath(), int.Parse(Option("--rounds") ?? "3", System.Globalization.CultureInfo.InvariantCulture), args.Contains("--keep")),
    "load-child" => LoadBench.ChildMain(args[1], args[2]),
    "dataparallel" => DataParallelBench.Run(args, int.Parse(Option("--rounds") ?? "6", System.Globalization.CultureInfo.InvariantCulture)),
    _ => Fail($"unknown suite '{suite}': use foundation, pretrain, xlingual, hub, hub-bigpkg, hub-search-scale, hub-scale, runtime, load, allreduce or dataparallel"),
};

static int Fail(string message)
{
    Console.Error.WriteLine(message);
    return 2;
}
