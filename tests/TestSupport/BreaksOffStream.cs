namespace XMod.TestSupport;

/// <summary>
/// A read stream that breaks off after <paramref name="after"/> bytes, as a dropped connection or
/// a killed install's download does: the reads before it succeed, the next one throws.
/// </summary>
public sealed class BreaksOffStream(Stream inner, long after) : Stream
{
    private long _read;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancel = default)
    {
        if (_read >= after)
        {
            throw new IOException($"connection broke off after {after:N0} bytes (simulated)");
        }
        var n = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, after - _read)], cancel);
        _read += n;
        return n;
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
