using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using XModHub.Core;
using XModHub.Plugins.Contracts;

namespace XModHub.Plugins.Metadata.Sqlite.Tests;

/// <summary>The SQLite index, owners and keys against the shared metadata contract.</summary>
public sealed class SqliteMetadataContract : MetadataStoreContract<SqliteMetadataStore>, IDisposable
{
    private readonly TempDir _dir = new("xmod-sqlite-");

    protected override async Task<SqliteMetadataStore> CreateAsync()
    {
        var store = new SqliteMetadataStore(new SqliteMetadataOptions { ConnectionString = $"Data Source={_dir[Guid.NewGuid().ToString("N") + ".db"]};Pooling=False" });
        await store.InitializeAsync(default);
        return store;
    }

    public void Dispose() => _dir.Dispose();
}

/// <summary>What only the SQLite provider has: restarts on an existing file, registration.</summary>
public sealed class SqliteMetadataStoreTests : IDisposable
{
    private readonly TempDir _dir = new("xmod-sqlite-");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_restarted_hub_initialises_again_and_keeps_its_rows()
    {
        var options = new SqliteMetadataOptions { ConnectionString = $"Data Source={_dir["hub.db"]};Pooling=False" };
        var first = new SqliteMetadataStore(options);
        await first.InitializeAsync(default);
        var record = new PackageRecord
        {
            Id = "xmod-nano.lang-de", Version = "1.0.0", Kind = XMod.Packaging.Manifests.PackageKind.Language, Published = DateTimeOffset.UnixEpoch,
            ManifestJson = "{}", Size = 1, Sha256 = new string('a', 64), Publisher = "alice",
        };
        Assert.Equal(AddResult.Added, await first.AddAsync(record, default));
        Assert.Equal(ClaimResult.Claimed, await first.ClaimAsync(record.Id, "alice", default));
        var second = new SqliteMetadataStore(options);
        await second.InitializeAsync(default);
        await second.InitializeAsync(default);
        Assert.Equal(AddResult.AlreadyExists, await second.AddAsync(record, default));
        Assert.Equal(["alice"], await second.GetOwnersAsync("xmod-nano.lang-de", default));
    }

    [Fact]
    public void RegistrationNeedsAConnectionString()
    {
        var empty = new ConfigurationBuilder().Build();
        var e = Assert.Throws<XMod.XModException>(() => new ServiceCollection().AddSqliteMetadata(empty));
        Assert.Contains("Database:ConnectionString is required", e.Message);
        var section = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionString"] = "Data Source=:memory:" }).Build();
        Assert.IsType<SqliteMetadataStore>(new ServiceCollection().AddSqliteMetadata(section).BuildServiceProvider().GetRequiredService<IPackageIndex>());
    }
}
