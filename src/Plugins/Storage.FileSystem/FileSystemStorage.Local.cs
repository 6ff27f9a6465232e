using XModHub.Core;

namespace XModHub.Plugins.Storage.FileSystem;

/// <summary>The local-file capability: files served as they lie, spooled uploads renamed into place.</summary>
public sealed partial class FileSystemStorage : ILocalBlobStorage
{
    public string? LocalPath(string path)
    {
        var full = Resolve(path);
        return File.Exists(full) ? full : null;
    }

    public async Task<PutResult> PutFileAsync(string path, string localFile, bool overwrite, CancellationToken cancel)
    {
        var full = Resolve(path);
        if (!overwrite && File.Exists(full))
        {
            return PutResult.AlreadyExists;
        }
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        // Durable before it becomes visible, as PutAsync's copy is.
        using (var handle = File.OpenHandle(localFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        {
            RandomAccess.FlushToDisk(handle);
        }
        var temp = $"{full}.{Guid.NewGuid():N}.tmp";
        try
        {
            try
            {
                File.Move(localFile, temp);
            }
            catch (IOException) when (File.Exists(localFile))
            {
                // Another file system (EXDEV): copy, as PutAsync would.
                await using var source = new FileStream(localFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 20, FileOptions.SequentialScan);
                return await PutAsync(path, source, overwrite, cancel);
            }
            try
            {
                File.Move(temp, full, overwrite);
            }
            catch (IOException) when (!overwrite && File.Exists(full))
            {
                return PutResult.AlreadyExists;
            }
            return PutResult.Success;
        }
        finally
        {
            File.Delete(temp);
        }
    }
}
