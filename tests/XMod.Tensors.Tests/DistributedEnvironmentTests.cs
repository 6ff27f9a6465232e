using XMod.Tensors.Distributed;

namespace XMod.Tensors.Tests;

public sealed class DistributedEnvironmentTests
{
    private static Dictionary<string, string?> Torchrun() => new()
    {
        ["MASTER_ADDR"] = "127.0.0.1",
        ["MASTER_PORT"] = "29500",
        ["RANK"] = "3",
        ["WORLD_SIZE"] = "4",
        ["LOCAL_RANK"] = "1",
    };

    private static DistributedEnvironment? Parse(Dictionary<string, string?> env) =>
        DistributedEnvironment.Parse(name => env.GetValueOrDefault(name));

    [Fact]
    public void NoVariablesMeansASingleProcessRun() => Assert.Null(Parse([]));

    [Fact]
    public void TorchrunsVariablesAreRead()
    {
        Assert.Equal(new DistributedEnvironment("127.0.0.1", 29500, 3, 4, 1), Parse(Torchrun()));
        var env = Torchrun();
        env["MASTER_ADDR"] = "node-0.cluster.example";
        env["RANK"] = " 0 ";
        env["LOCAL_RANK"] = "0";
        var parsed = Parse(env)!;
        Assert.Equal("node-0.cluster.example", parsed.MasterAddress);
        Assert.True(parsed.IsLeader);
        env["MASTER_ADDR"] = "[::1]";
        Assert.Equal("::1", Parse(env)!.MasterAddress);
    }

    [Fact]
    public void APartialSetNamesWhatIsMissing()
    {
        var env = Torchrun();
        env.Remove("WORLD_SIZE");
        env["LOCAL_RANK"] = "";
        var e = Assert.Throws<DistributedException>(() => Parse(env));
        Assert.StartsWith("WORLD_SIZE, LOCAL_RANK are not set but MASTER_ADDR, MASTER_PORT, RANK are", e.Message);
        var only = Assert.Throws<DistributedException>(() => Parse(new() { ["RANK"] = "0" }));
        Assert.StartsWith("MASTER_ADDR, MASTER_PORT, WORLD_SIZE, LOCAL_RANK are not set but RANK is", only.Message);
    }

    // Hostile or mistaken values: each is refused with one line that names the variable.
    [Theory]
    [InlineData("RANK", "abc", "RANK='abc' is not an integer")]
    [InlineData("RANK", "4", "RANK=4 must lie in [0, WORLD_SIZE - 1] = [0, 3]")]
    [InlineData("RANK", "-1", "RANK=-1 must lie in [0, WORLD_SIZE - 1] = [0, 3]")]
    [InlineData("RANK", "99999999999", "RANK='99999999999' is not an integer")]
    [InlineData("RANK", "0x1", "RANK='0x1' is not an integer")]
    [InlineData("WORLD_SIZE", "0", "WORLD_SIZE=0 must lie in [1, 65536]")]
    [InlineData("WORLD_SIZE", "1e3", "WORLD_SIZE='1e3' is not an integer")]
    [InlineData("LOCAL_RANK", "4", "LOCAL_RANK=4 must lie in [0, RANK] = [0, 3]")]
    [InlineData("MASTER_PORT", "0", "MASTER_PORT=0 must lie in [1, 65535]")]
    [InlineData("MASTER_PORT", "65536", "MASTER_PORT=65536 must lie in [1, 65535]")]
    [InlineData("MASTER_PORT", "29500\n", null)]
    [InlineData("MASTER_PORT", "29 500", "MASTER_PORT='29 500' is not an integer")]
    [InlineData("MASTER_ADDR", "bad host", "MASTER_ADDR='bad host' is not a host name or IP address")]
    [InlineData("MASTER_ADDR", "evil\nhost", "MASTER_ADDR='evil?host' is not a host name or IP address")]
    [InlineData("MASTER_ADDR", "tcp://node0:29500", "MASTER_ADDR='tcp://node0:29500' is not a host name or IP address")]
    [InlineData("MASTER_ADDR", "-node", "MASTER_ADDR='-node' is not a host name or IP address")]
    [InlineData("MASTER_ADDR", "1", "MASTER_ADDR='1' is not a host name or IP address")]
    [InlineData("MASTER_ADDR", "node..0", "MASTER_ADDR='node..0' is not a host name or IP address")]
    public void MalformedValuesAreRefusedNamingTheVariable(string variable, string value, string? message)
    {
        var env = Torchrun();
        env[variable] = value;
        if (message is null)
        {
            Assert.Equal(29500, Parse(env)!.MasterPort); // surrounding whitespace is tolerated
            return;
        }
        var e = Assert.Throws<DistributedException>(() => Parse(env));
        Assert.Equal(message, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void AHugeValueIsCutInTheMessage()
    {
        var env = Torchrun();
        env["MASTER_ADDR"] = new string('a', 10_000);
        var e = Assert.Throws<DistributedException>(() => Parse(env));
        Assert.StartsWith("MASTER_ADDR='aaaa", e.Message);
        Assert.True(e.Message.Length < 200, e.Message);
    }
}
