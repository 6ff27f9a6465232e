namespace XMod.Tensors;

/// <summary>
/// Frees, deterministically, every tensor created on this thread while the scope is open, such
/// as the temporaries of one training step. A result that must outlive the scope is moved out
/// with <see cref="MoveToOuter"/> (it then belongs to the enclosing scope, or to the caller
/// when there is none). Parameters are never owned by a scope.
/// </summary>
/// <remarks>
/// Scopes nest per thread and must be disposed in reverse order of creation (a using block does
/// that). A tensor disposed early is simply skipped.
/// </remarks>
public sealed class DisposeScope : IDisposable
{
    [ThreadStatic] private static DisposeScope? t_current;

    private readonly List<Tensor> _owned = new();
    private readonly DisposeScope? _outer;
    private readonly int _threadId;
    private bool _disposed;

    private DisposeScope()
    {
        _outer = t_current;
        _threadId = Environment.CurrentManagedThreadId;
        t_current = this;
    }

    /// <summary>The innermost open scope of this thread, or null.</summary>
    public static DisposeScope? Current => t_current;

    /// <summary>Opens a scope on this thread; dispose it to free what was created inside.</summary>
    public static DisposeScope Begin() => new();

    /// <summary>How many tensors this scope still owns.</summary>
    public int OwnedCount
    {
        get
        {
            var n = 0;
            foreach (var t in _owned)
            {
                if (ReferenceEquals(t.Scope, this) && !t.IsDisposed)
                {
                    n++;
                }
            }
            return n;
        }
    }

    internal void Register(Tensor t)
    {
        _owned.Add(t);
        t.Scope = this;
    }

    /// <summary>Hands a tensor owned by this scope to the enclosing scope (or to the caller).</summary>
    public Tensor MoveToOuter(Tensor tensor)
    {
        if (!ReferenceEquals(tensor.Scope, this))
        {
            throw new InvalidOperationException("the tensor is not owned by this scope");
        }
        tensor.Scope = null;
        _outer?.Register(tensor);
        return tensor;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        if (Environment.CurrentManagedThreadId != _threadId || !ReferenceEquals(t_current, this))
        {
            throw new InvalidOperationException("dispose scopes must be disposed on their thread, innermost first");
        }
        _disposed = true;
        t_current = _outer;
        foreach (var t in _owned)
        {
            if (ReferenceEquals(t.Scope, this))
            {
                t.Scope = null;
                t.Dispose();
            }
        }
        _owned.Clear();
    }
}
