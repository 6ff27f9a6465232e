using System.Collections.Immutable;
using XMod.Packaging.Checkpoints;
using XMod.Runtime.Tokenization;

namespace XMod.Runtime.Model;

/// <summary>
/// An immutable snapshot of what a model swaps while it serves: the config (its language list),
/// the module of each module key, and the own embeddings and tokenizer of each language that has
/// them. A forward holds the set it started with; a swap publishes a new set.
/// </summary>
/// <remarks>
/// Ownership: a set is held by its model while it is current, and by every forward (or pin) that
/// leases it. Its parts (modules, embeddings, tokenizers) are counted per set that contains them:
/// when the last hold on a set ends, each of its parts loses one count, and a part whose count
/// reaches zero is disposed there and then, on the thread that released it. Nothing is left to a
/// finalizer.
/// </remarks>
public sealed class ModuleSet
{
    private readonly ModuleSetOwner _owner;
    private int _holds = 1; // the owner's own hold, given up when the set stops being current

    internal ModuleSet(ModuleSetOwner owner, XModConfig config, ImmutableDictionary<string, LanguageModule> modules,
        ImmutableDictionary<string, LanguageEmbeddings> embeddings, ImmutableDictionary<string, XModTokenizer> tokenizers)
    {
        _owner = owner;
        Config = config;
        Modules = modules;
        Embeddings = embeddings;
        Tokenizers = tokenizers;
    }

    public XModConfig Config { get; }

    /// <summary>Modules by module key (the language, or "shared").</summary>
    public ImmutableDictionary<string, LanguageModule> Modules { get; }

    /// <summary>Own embeddings of languages added with their own vocabulary.</summary>
    public ImmutableDictionary<string, LanguageEmbeddings> Embeddings { get; }

    /// <summary>Own tokenizers of languages added with their own vocabulary.</summary>
    public ImmutableDictionary<string, XModTokenizer> Tokenizers { get; }

    internal IEnumerable<IDisposable> Parts =>
        Modules.Values.Cast<IDisposable>().Concat(Embeddings.Values).Concat(Tokenizers.Values);

    internal ModuleSet With(XModConfig? config = null, ImmutableDictionary<string, LanguageModule>? modules = null,
        ImmutableDictionary<string, LanguageEmbeddings>? embeddings = null, ImmutableDictionary<string, XModTokenizer>? tokenizers = null) =>
        new(_owner, config ?? Config, modules ?? Modules, embeddings ?? Embeddings, tokenizers ?? Tokenizers);

    /// <summary>Adds a hold unless the set is already retired (then a newer set is current).</summary>
    internal bool TryHold()
    {
        var holds = Volatile.Read(ref _holds);
        while (holds > 0)
        {
            var seen = Interlocked.CompareExchange(ref _holds, holds + 1, holds);
            if (seen == holds)
            {
                return true;
            }
            holds = seen;
        }
        return false;
    }

    internal void Release()
    {
        var left = Interlocked.Decrement(ref _holds);
        if (left == 0)
        {
            _owner.Retire(this);
        }
        else if (left < 0)
        {
            throw new InvalidOperationException("a module set was released more often than it was held");
        }
    }
}

/// <summary>
/// Keeps a model's current <see cref="ModuleSet"/> and counts, for every part, how many live sets
/// contain it (see <see cref="ModuleSet"/> for the ownership rules).
/// </summary>
internal sealed class ModuleSetOwner : IDisposable
{
    private readonly object _lock = new();
    private readonly Dictionary<object, int> _counts = new(ReferenceEqualityComparer.Instance);
    private ModuleSet? _current;

    public ModuleSetOwner(XModConfig config, IEnumerable<LanguageModule> modules)
    {
        var first = new ModuleSet(this, config, modules.ToImmutableDictionary(m => m.Key, StringComparer.Ordinal),
            ImmutableDictionary.Create<string, LanguageEmbeddings>(StringComparer.Ordinal),
            ImmutableDictionary.Create<string, XModTokenizer>(StringComparer.Ordinal));
        Count(first);
        _current = first;
    }

    /// <summary>The current set, not held: read it only for a look (a swap may retire it at once).</summary>
    public ModuleSet Current => Volatile.Read(ref _current) ?? throw new ObjectDisposedException(nameof(XModModel));

    /// <summary>Holds the current set; the caller releases it (<see cref="ModuleSet.Release"/>).</summary>
    public ModuleSet Hold()
    {
        while (true)
        {
            var set = Current;
            if (set.TryHold())
            {
                return set;
            }
            // Retired between the read and the hold: a newer set is current by now.
        }
    }

    /// <summary>
    /// Publishes <paramref name="change"/>(current) as the current set (under the lock, so swaps
    /// do not lose each other's changes); the previous set is released, and what only it held is
    /// freed once the forwards holding it end.
    /// </summary>
    public void Swap(Func<ModuleSet, ModuleSet> change)
    {
        ModuleSet previous;
        lock (_lock)
        {
            previous = Current;
            var next = change(previous);
            if (ReferenceEquals(next, previous))
            {
                return;
            }
            Count(next);
            Volatile.Write(ref _current, next);
        }
        previous.Release();
    }

    /// <summary>Called by the set's last release: its parts lose one count each; those at zero are freed.</summary>
    internal void Retire(ModuleSet set)
    {
        var dead = new List<IDisposable>();
        lock (_lock)
        {
            foreach (var part in set.Parts)
            {
                var left = _counts[part] - 1;
                if (left == 0)
                {
                    _counts.Remove(part);
                    dead.Add(part);
                }
                else
                {
                    _counts[part] = left;
                }
            }
        }
        foreach (var part in dead)
        {
            part.Dispose();
        }
    }

    private void Count(ModuleSet set)
    {
        foreach (var part in set.Parts)
        {
            _counts[part] = _counts.GetValueOrDefault(part) + 1;
        }
    }

    /// <summary>Gives up the model's hold on the current set; forwards still running keep theirs.</summary>
    public void Dispose()
    {
        ModuleSet? last;
        lock (_lock)
        {
            last = _current;
            Volatile.Write(ref _current, null);
        }
        last?.Release();
    }
}

/// <summary>
/// A hold on one <see cref="ModuleSet"/> that also pins it for this thread: while it is open,
/// every Encode and LmHead of its model on this thread runs on that set, so a forward made of
/// several calls (encode, LM head, a tokenizer) sees one consistent set of languages. Dispose it
/// on the same thread, innermost first (a using block does that).
/// </summary>
public sealed class ModuleLease : IDisposable
{
    [ThreadStatic] private static ModuleLease? t_innermost;

    private readonly ModuleSetOwner _owner;
    private readonly ModuleLease? _outer;
    private readonly int _thread = Environment.CurrentManagedThreadId;
    private bool _released;

    internal ModuleLease(ModuleSetOwner owner)
    {
        _owner = owner;
        Set = owner.Hold();
        _outer = t_innermost;
        t_innermost = this;
    }

    /// <summary>The pinned set.</summary>
    public ModuleSet Set { get; }

    /// <summary>The set pinned on this thread for <paramref name="owner"/>, or null.</summary>
    internal static ModuleSet? Pinned(ModuleSetOwner owner)
    {
        for (var l = t_innermost; l is not null; l = l._outer)
        {
            if (ReferenceEquals(l._owner, owner))
            {
                return l.Set;
            }
        }
        return null;
    }

    public void Dispose()
    {
        if (_released)
        {
            return;
        }
        if (Environment.CurrentManagedThreadId != _thread || !ReferenceEquals(t_innermost, this))
        {
            throw new InvalidOperationException("module leases must be disposed on their thread, innermost first");
        }
        _released = true;
        t_innermost = _outer;
        Set.Release();
    }
}
