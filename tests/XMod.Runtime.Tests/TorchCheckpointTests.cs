using System.Diagnostics;
using System.Text.Json;
using XMod.Packaging.Checkpoints;
using XMod.Packaging.PyTorch;
using XMod.Runtime.Model;

namespace XMod.Runtime.Tests;

/// <summary>
/// pytorch_model.bin as Debian's python3-torch writes it (both serializations), read without
/// unpickling; hostile pickles refused with nothing run.
/// </summary>
public sealed class TorchCheckpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-torch-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [TorchTheory]
    [InlineData(true)]
    [InlineData(false)]
    public void ReadsEveryDtypeViewAndSharedStorageAsTorchSavedThem(bool zip)
    {
        var file = Path.Combine(_dir, "sd.bin");
        var expected = Path.Combine(_dir, "expected.json");
        Python.Run($$"""
            import torch, collections, json
            torch.manual_seed(0)
            base = torch.randn(3, 4)
            sd = collections.OrderedDict()
            sd["f32"] = base
            sd["transposed"] = base.t()              # non-contiguous view of the same storage
            sd["row"] = base[1]                      # offset into the same storage
            sd["strided"] = base[:, ::2]             # strides (4, 2)
            sd["tied"] = base                        # the very same tensor: tied weights
            sd["f16"] = torch.randn(2, 3).half()
            sd["bf16"] = torch.randn(5).bfloat16()
            sd["i64"] = torch.tensor([[1, -2], [3, 2**40]])
            sd["param"] = torch.nn.Parameter(torch.randn(2, 2))
            sd["scalar"] = torch.tensor(7.5)
            sd._metadata = collections.OrderedDict([("", dict(version=1))])
            torch.save(sd, r"{{file}}", _use_new_zipfile_serialization={{(zip ? "True" : "False")}})
            def raw(t):
                t = t.detach().contiguous()
                if t.dtype == torch.bfloat16: t = t.view(torch.int16)
                return t.numpy().tobytes().hex()
            json.dump(dict((k, dict(shape=list(v.shape), hex=raw(v))) for k, v in sd.items()), open(r"{{expected}}", "w"))
            """);
        using var checkpoint = TorchCheckpoint.Open(file);
        using var doc = JsonDocument.Parse(File.ReadAllText(expected));
        Assert.Equal(doc.RootElement.EnumerateObject().Select(p => p.Name), checkpoint.Names);
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            var info = checkpoint.Info(p.Name);
            Assert.Equal(p.Value.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()), info.Shape);
            Assert.True(Convert.FromHexString(p.Value.GetProperty("hex").GetString()!).AsSpan().SequenceEqual(checkpoint.ReadContiguous(p.Name)), $"{p.Name} differs");
        }
        Assert.Equal(Packaging.SafeTensors.SafeTensorsDType.BF16, checkpoint.Info("bf16").DType);
        Assert.Equal(Packaging.SafeTensors.SafeTensorsDType.I64, checkpoint.Info("i64").DType);
        Assert.False(checkpoint.Info("transposed").IsContiguous);
        Assert.Same(checkpoint.Info("f32").Storage, checkpoint.Info("tied").Storage);
        Assert.Equal(checkpoint.Info("f32").Storage, checkpoint.Info("row").Storage);
        Assert.Equal(4, checkpoint.Info("row").Offset);
    }

    [TorchTheory]
    [InlineData("legacy-first")]
    [InlineData("zip-entry")]
    [InlineData("legacy-entry")]
    public void AMaliciousPickleIsRefusedByNameAndNothingRuns(string kind)
    {
        var file = Path.Combine(_dir, "pytorch_model.bin");
        var marker = Path.Combine(_dir, "pwned");
        Python.Run($$"""
            import torch, pickle, os
            class Evil:
                def __reduce__(self):
                    return (os.system, ("touch " + r"{{marker}}",))
            kind = "{{kind}}"
            if kind == "legacy-first":
                pickle.dump(Evil(), open(r"{{file}}", "wb"), protocol=2)
            else:
                torch.save({"w": torch.ones(2), "x": Evil()}, r"{{file}}", _use_new_zipfile_serialization=(kind == "zip-entry"))
            """);
        Assert.False(File.Exists(marker)); // writing it ran nothing either
        var e = Assert.Throws<Packaging.PackagingException>(() => TorchCheckpoint.Open(file).Dispose());
        Assert.Contains("it calls posix.system, which a state dict never does", e.Message);
        Assert.False(File.Exists(marker));

        // The same file through import-hf: one clear line, nothing written, nothing run.
        ModelTests.Nano().Save(Path.Combine(_dir, "config.json"));
        var import = Assert.ThrowsAny<XModException>(() => HuggingFaceFormat.Import(_dir, Path.Combine(_dir, "out")));
        Assert.Contains("posix.system", import.Message);
        Assert.False(Directory.Exists(Path.Combine(_dir, "out")));
        Assert.False(File.Exists(marker));

        // The file is really hostile: Python's own unpickler runs it.
        Python.Run($"import torch\ntry:\n    torch.load(r\"{file}\")\nexcept Exception:\n    pass\n");
        Assert.True(File.Exists(marker), "python's torch.load should have run the payload (the test's file is not malicious otherwise)");
    }

    [Fact]
    public void HostilePicklesAreRefusedWithAReason()
    {
        var cases = new (byte[] Bytes, string Message)[]
        {
            ([0x80, 0x02, 0x63, .. "builtins\neval\n"u8, 0x2e], "it calls builtins.eval"),
            ([0x80, 0x02, 0x68, 0x05, 0x2e], "memo entry 5 is read before it is written"),
            ([0x80, 0x02, 0x58, 0xff, 0xff, 0xff, 0x7f], "exceeds the"),
            ([0x80, 0x02, 0x7d, 0x30], "pickle ends before its STOP opcode"),
            ([0x80, 0x02, 0x63, .. "collections\nOrderedDict\n"u8, 0x29, 0x52, 0x2e], "neither a torch zip checkpoint nor torch's legacy format"),
            ([0x80, 0x02, 0x4e, 0x29, 0x52, 0x2e], "pickle calls a None"),
            ([0x80, 0x02, 0x7d, 0x4e, 0x2e], "values left on its stack"),
            ([0x80, 0x02, 0x82, 0x01, 0x2e], "opcode 0x82"),
            ([0x80, 0x02, 0x4e, 0x4e, 0x52, 0x2e], "pickle calls with None as arguments"),
        };
        foreach (var (bytes, message) in cases)
        {
            var file = Path.Combine(_dir, "x.bin");
            File.WriteAllBytes(file, bytes);
            var e = Assert.Throws<Packaging.PackagingException>(() => TorchCheckpoint.Open(file).Dispose());
            Assert.Contains(message, e.Message);
        }
    }

    [TorchTheory]
    [InlineData("bin")]
    [InlineData("bin-legacy")]
    [InlineData("bin-sharded")]
    public void ImportHfReadsPytorchModelBinWithTiedWeightsExactly(string layout)
    {
        using var model = XModModel.Initialize(ModelTests.Nano(), 31);
        var hf = Path.Combine(_dir, "hf");
        HuggingFaceFormat.Export(model, null, hf);
        // Python turns model.safetensors into pytorch_model.bin the way save_pretrained does:
        // decoder.weight is the embedding tensor itself (shared storage), bias likewise.
        Python.Run($$"""
            import torch, json, struct, collections, os
            d = r"{{hf}}"
            raw = open(os.path.join(d, "model.safetensors"), "rb").read()
            n = struct.unpack("<Q", raw[:8])[0]
            header = json.loads(raw[8:8 + n])
            sd = collections.OrderedDict()
            for k, v in header.items():
                if k == "__metadata__": continue
                b, e = v["data_offsets"]
                sd[k] = torch.frombuffer(bytearray(raw[8 + n + b:8 + n + e]), dtype=torch.float32).reshape(v["shape"])
            sd["lm_head.decoder.weight"] = sd["roberta.embeddings.word_embeddings.weight"]
            sd["lm_head.decoder.bias"] = sd["lm_head.bias"]
            sd["roberta.embeddings.position_ids"] = torch.arange(130).expand((1, -1))
            os.remove(os.path.join(d, "model.safetensors"))
            layout = "{{layout}}"
            if layout == "bin-sharded":
                names = list(sd.keys()); half = len(names) // 2
                shards = {"pytorch_model-00001-of-00002.bin": names[:half], "pytorch_model-00002-of-00002.bin": names[half:]}
                wm = {}
                for f, ks in shards.items():
                    torch.save(collections.OrderedDict((k, sd[k]) for k in ks), os.path.join(d, f))
                    wm.update({k: f for k in ks})
                json.dump({"metadata": {}, "weight_map": wm}, open(os.path.join(d, "pytorch_model.bin.index.json"), "w"))
            else:
                torch.save(sd, os.path.join(d, "pytorch_model.bin"), _use_new_zipfile_serialization=(layout == "bin"))
            """);
        var outDir = Path.Combine(_dir, "imported");
        HuggingFaceFormat.Import(hf, outDir);
        using var imported = ModelStore.Load(outDir);
        ModelTests.AssertSameParameters(model, imported);
    }

    [Fact]
    public void AShardIndexCannotLeaveTheModelFolder()
    {
        var dir = Path.Combine(_dir, "hf");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(_dir, "outside.bin"), "x");
        File.WriteAllText(Path.Combine(dir, "pytorch_model.bin.index.json"), """{"weight_map": {"a": "../outside.bin"}}""");
        var e = Assert.Throws<Packaging.PackagingException>(() => CheckpointWeights.OpenFolder(dir).Dispose());
        Assert.Contains("shard '../outside.bin' of 'a' is not a plain file name", e.Message);
    }
}

/// <summary>A theory that needs Debian's python3-torch: skipped, saying so, where it is missing.</summary>
public sealed class TorchTheoryAttribute : TheoryAttribute
{
    public TorchTheoryAttribute()
    {
        if (!Python.HasTorch.Value)
        {
            Skip = "python3-torch is not installed (scripts/install-deps installs it)";
        }
    }
}

/// <summary>A fact that needs Debian's python3-torch: skipped, saying so, where it is missing.</summary>
public sealed class TorchFactAttribute : FactAttribute
{
    public TorchFactAttribute()
    {
        if (!Python.HasTorch.Value)
        {
            Skip = "python3-torch is not installed (scripts/install-deps installs it)";
        }
    }
}

/// <summary>Runs Debian's python3 (not a virtual environment's) on a script.</summary>
internal static class Python
{
    private const string Exe = "/usr/bin/python3";

    public static readonly Lazy<bool> HasTorch = new(() => Has("torch"));

    public static readonly Lazy<bool> HasSentencePiece = new(() => Has("sentencepiece"));

    public static bool Has(string module)
    {
        if (!File.Exists(Exe))
        {
            return false;
        }
        return Start(["-c", $"import {module}"]).ExitCode == 0;
    }

    public static string Run(string script)
    {
        var r = Start(["-c", script]);
        Assert.True(r.ExitCode == 0, $"python3 failed: {r.StdErr}");
        return r.StdOut;
    }

    private static (int ExitCode, string StdOut, string StdErr) Start(IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(Exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["OMP_NUM_THREADS"] = "1";
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout, stderr.Result);
    }
}
