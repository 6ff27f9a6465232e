namespace XModHub.Core;

/// <summary>
/// Removes blobs no index row points at: a push killed between storing its file and adding its row,
/// a half-copied file (*.tmp) of a killed file-system write. Several instances may sweep one store
/// while others push, so only blobs older than <paramref name="minAge"/> go: a push in flight has
/// written its blob moments before its row.
/// </summary>
public sealed class OrphanSweeper(IPackageIndex index, IBlobStorage blobs)
{
    /// <summary>The blobs removed.</summary>
    public async Task<int> SweepAsync(TimeSpan minAge, CancellationToken cancel)
    {
        var removed = 0;
        var before = DateTimeOffset.UtcNow - minAge;
        await foreach (var entry in blobs.ListAsync("packages/", cancel))
        {
            if (entry.LastModified > before)
            {
                continue;
            }
            if (entry.Path.EndsWith(".tmp", StringComparison.Ordinal) || await IsOrphanAsync(entry.Path, cancel))
            {
                await blobs.DeleteAsync(entry.Path, cancel);
                removed++;
            }
        }
        return removed;
    }

    // packages/{id}/{version}/{file}.nupkg belongs to the row of that version when the row names it.
    private async Task<bool> IsOrphanAsync(string path, CancellationToken cancel)
    {
        var parts = path.Split('/');
        if (parts.Length != 4 || !path.EndsWith(".nupkg", StringComparison.Ordinal))
        {
            return false;
        }
        var row = await index.GetAsync(parts[1], parts[2], cancel);
        return row is null || !string.Equals(PackageService.BlobPathOf(row), path, StringComparison.OrdinalIgnoreCase);
    }
}
