using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace XMod.Packaging.PyTorch;

/// <summary>A Python global named by a pickle (module and name); never imported, only compared.</summary>
public sealed record PyGlobal(string Module, string Name)
{
    public override string ToString() => $"{Module}.{Name}";
}

/// <summary>A tuple (immutable, so it can be a dictionary key in the pickle's own terms).</summary>
public sealed record PyTuple(object?[] Items);

/// <summary>A dict, in insertion order (pickled dicts and OrderedDicts keep their order).</summary>
public sealed class PyDict
{
    public List<KeyValuePair<object?, object?>> Items { get; } = [];

    public object? this[string key] => Items.FirstOrDefault(kv => kv.Key is string s && s == key).Value;

    public bool ContainsKey(string key) => Items.Any(kv => kv.Key is string s && s == key);
}

/// <summary>
/// What an unknown global would have built, had it been called (only in tolerant mode): inert,
/// never called; reading it as data is refused later by whoever expected a tensor.
/// </summary>
public sealed record PyOpaque(PyGlobal Callee);

/// <summary>
/// The interpreter's policy: what a global call and a persistent id mean. It is the only place
/// where names become values, so nothing outside it can be reached from a pickle.
/// </summary>
public interface IPickleResolver
{
    /// <summary>What a named global stands for (GLOBAL, STACK_GLOBAL, INST): itself, or refused.</summary>
    object? Global(PyGlobal global);

    /// <summary>The value of calling <paramref name="callee"/> with <paramref name="args"/> (REDUCE, NEWOBJ).</summary>
    object? Call(PyGlobal callee, PyTuple args);

    /// <summary>What a persistent id (torch's storage references) stands for.</summary>
    object? PersistentLoad(object? pid);
}

/// <summary>
/// A pickle interpreter that never executes code: it understands the opcodes of protocols 0 to 5
/// that build plain data (numbers, strings, bytes, tuples, lists, dicts), and hands every call of
/// a global to an <see cref="IPickleResolver"/> which decides from an allow-list. Python's own
/// unpickler imports and calls whatever a file names; this one only compares names.
/// </summary>
public sealed class PickleMachine
{
    /// <summary>Bounds on what a hostile pickle can make this allocate.</summary>
    public const int MaxStringBytes = 64 << 20, MaxContainerItems = 50_000_000, MaxMemo = 50_000_000;

    private static readonly object Mark = new();
    private readonly Stream _in;
    private readonly string _source;
    private readonly IPickleResolver _resolver;
    private readonly List<object?> _stack = [];
    private readonly List<int> _marks = [];
    private readonly Dictionary<long, object?> _memo = [];

    private PickleMachine(Stream input, string source, IPickleResolver resolver)
    {
        _in = input;
        _source = source;
        _resolver = resolver;
    }

    /// <summary>Reads one pickle (up to its STOP) from the current position of <paramref name="input"/>.</summary>
    public static object? Load(Stream input, string source, IPickleResolver resolver) =>
        new PickleMachine(input, source, resolver).Run();

    private PackagingException Bad(string what) => new($"{_source}: {what}");

    private object? Run()
    {
        while (true)
        {
            var op = ReadByte();
            switch (op)
            {
                case 0x80: ReadByte(); break; // PROTO n
                case 0x95: ReadBytes(8); break; // FRAME: a length hint only
                case 0x2e: // STOP
                    var result = Pop();
                    if (_stack.Count != 0 || _marks.Count != 0)
                    {
                        throw Bad("pickle stops with values left on its stack");
                    }
                    return result;

                // ---- constants
                case 0x4e: Push(null); break; // NONE
                case 0x88: Push(true); break; // NEWTRUE
                case 0x89: Push(false); break; // NEWFALSE
                case 0x4b: Push((long)ReadByte()); break; // BININT1
                case 0x4d: Push((long)BinaryPrimitives.ReadUInt16LittleEndian(ReadBytes(2))); break; // BININT2
                case 0x4a: Push((long)BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4))); break; // BININT
                case 0x8a: Push(Long(ReadBytes(ReadByte()))); break; // LONG1
                case 0x8b: Push(Long(ReadBytes(Length(BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4)))))); break; // LONG4
                case 0x47: Push(BinaryPrimitives.ReadDoubleBigEndian(ReadBytes(8))); break; // BINFLOAT
                case 0x49: Push(IntText(ReadLine())); break; // INT
                case 0x4c: Push(Long(ReadLine().TrimEnd('L'))); break; // LONG
                case 0x46: Push(double.Parse(ReadLine(), System.Globalization.CultureInfo.InvariantCulture)); break; // FLOAT
                case 0x58: Push(Utf8(ReadBytes(Length(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)))))); break; // BINUNICODE
                case 0x8c: Push(Utf8(ReadBytes(ReadByte()))); break; // SHORT_BINUNICODE
                case 0x8d: Push(Utf8(ReadBytes(Length(BinaryPrimitives.ReadUInt64LittleEndian(ReadBytes(8)))))); break; // BINUNICODE8
                case 0x54: Push(Latin1(ReadBytes(Length(BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4)))))); break; // BINSTRING
                case 0x55: Push(Latin1(ReadBytes(ReadByte()))); break; // SHORT_BINSTRING
                case 0x42: Push(ReadBytes(Length(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4))))); break; // BINBYTES
                case 0x43: Push(ReadBytes(ReadByte())); break; // SHORT_BINBYTES
                case 0x8e: Push(ReadBytes(Length(BinaryPrimitives.ReadUInt64LittleEndian(ReadBytes(8))))); break; // BINBYTES8
                case 0x96: Push(ReadBytes(Length(BinaryPrimitives.ReadUInt64LittleEndian(ReadBytes(8))))); break; // BYTEARRAY8

                // ---- containers
                case 0x28: // MARK
                    _marks.Add(_marks.Count < MaxContainerItems ? _stack.Count : throw Bad($"more than {MaxContainerItems} open marks"));
                    break;
                case 0x29: Push(new PyTuple([])); break; // EMPTY_TUPLE
                case 0x85: Push(new PyTuple([Pop()])); break; // TUPLE1
                case 0x86: { var b = Pop(); var a = Pop(); Push(new PyTuple([a, b])); break; } // TUPLE2
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new PyTuple([a, b, c])); break; } // TUPLE3
                case 0x74: Push(new PyTuple(PopMark().ToArray())); break; // TUPLE
                case 0x5d: Push(new List<object?>()); break; // EMPTY_LIST
                case 0x6c: Push(PopMark()); break; // LIST
                case 0x61: { var v = Pop(); AsList(Peek()).Add(v); break; } // APPEND
                case 0x65: { var items = PopMark(); var list = AsList(Peek()); CheckSize(list.Count + items.Count); list.AddRange(items); break; } // APPENDS
                case 0x7d: Push(new PyDict()); break; // EMPTY_DICT
                case 0x64: { var d = new PyDict(); AddPairs(d, PopMark()); Push(d); break; } // DICT
                case 0x73: { var v = Pop(); var k = Pop(); AsDict(Peek()).Items.Add(new(k, v)); break; } // SETITEM
                case 0x75: { var items = PopMark(); AddPairs(AsDict(Peek()), items); break; } // SETITEMS
                case 0x8f: Push(new PyTuple([])); break; // EMPTY_SET: sets hold no tensors; kept inert
                case 0x90: PopMark(); break; // ADDITEMS (to the inert set)
                case 0x91: Push(new PyTuple(PopMark().ToArray())); break; // FROZENSET

                // ---- stack and memo
                case 0x30: Pop(); break; // POP
                case 0x31: PopMark(); break; // POP_MARK
                case 0x32: Push(Peek()); break; // DUP
                case 0x71: Memo(ReadByte()); break; // BINPUT
                case 0x72: Memo(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4))); break; // LONG_BINPUT
                case 0x70: Memo(IntText(ReadLine())); break; // PUT
                case 0x94: Memo(_memo.Count); break; // MEMOIZE
                case 0x68: Push(Recall(ReadByte())); break; // BINGET
                case 0x6a: Push(Recall(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)))); break; // LONG_BINGET
                case 0x67: Push(Recall(IntText(ReadLine()))); break; // GET

                // ---- globals, calls, persistent ids: all through the resolver
                case 0x63: Push(_resolver.Global(new PyGlobal(ReadLine(), ReadLine()))); break; // GLOBAL
                case 0x93: { var name = Pop(); var module = Pop(); Push(_resolver.Global(new PyGlobal(AsString(module), AsString(name)))); break; } // STACK_GLOBAL
                case 0x52: { var args = AsTuple(Pop()); var callee = AsGlobal(Pop()); Push(_resolver.Call(callee, args)); break; } // REDUCE
                case 0x81: { var args = AsTuple(Pop()); var cls = AsGlobal(Pop()); Push(_resolver.Call(cls, args)); break; } // NEWOBJ
                case 0x92: { Pop(); var args = AsTuple(Pop()); var cls = AsGlobal(Pop()); Push(_resolver.Call(cls, args)); break; } // NEWOBJ_EX
                case 0x62: Build(Pop(), Peek()); break; // BUILD
                case 0x51: Push(_resolver.PersistentLoad(Pop())); break; // BINPERSID
                case 0x50: Push(_resolver.PersistentLoad(ReadLine())); break; // PERSID
                case 0x69: { var g = AsGlobal(_resolver.Global(new PyGlobal(ReadLine(), ReadLine()))); Push(_resolver.Call(g, new PyTuple(PopMark().ToArray()))); break; } // INST
                case 0x6f: { var items = PopMark(); if (items.Count == 0) { throw Bad("OBJ without a class"); } Push(_resolver.Call(AsGlobal(items[0]), new PyTuple(items.Skip(1).ToArray()))); break; } // OBJ

                default:
                    throw Bad($"pickle opcode 0x{op:x2} at byte {_in.Position - 1} is not one a state dict uses (extension registry, text strings or a newer protocol); refusing it");
            }
        }
    }

    /// <summary>
    /// BUILD sets an object's state. The only object of ours that receives one is a dict (an
    /// OrderedDict's attributes, e.g. a state dict's _metadata), and attributes are not data: dropped.
    /// Anything else was built by the resolver, which decided what it may be.
    /// </summary>
    private void Build(object? state, object? target)
    {
        if (target is PyDict or PyOpaque)
        {
            return;
        }
        throw Bad($"pickle sets the state of a {Describe(target)}, which a state dict never does");
    }

    private void AddPairs(PyDict d, List<object?> items)
    {
        if (items.Count % 2 != 0)
        {
            throw Bad("dict items come in an odd number");
        }
        CheckSize(d.Items.Count + (items.Count / 2));
        for (var i = 0; i < items.Count; i += 2)
        {
            d.Items.Add(new(items[i], items[i + 1]));
        }
    }

    private void Memo(long index)
    {
        if (_memo.Count >= MaxMemo && !_memo.ContainsKey(index))
        {
            throw Bad($"memo exceeds {MaxMemo} entries");
        }
        _memo[index] = Peek();
    }

    private object? Recall(long index) =>
        _memo.TryGetValue(index, out var v) ? v : throw Bad($"memo entry {index} is read before it is written");

    private void Push(object? v)
    {
        if (_stack.Count >= MaxContainerItems)
        {
            throw Bad($"stack exceeds {MaxContainerItems} values");
        }
        _stack.Add(v);
    }

    private object? Pop()
    {
        var floor = _marks.Count > 0 ? _marks[^1] : 0;
        if (_stack.Count <= floor)
        {
            throw Bad("pickle pops from an empty stack");
        }
        var v = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return v == Mark ? throw Bad("pickle pops a mark") : v;
    }

    private object? Peek()
    {
        var floor = _marks.Count > 0 ? _marks[^1] : 0;
        return _stack.Count > floor ? _stack[^1] : throw Bad("pickle reads an empty stack");
    }

    private List<object?> PopMark()
    {
        if (_marks.Count == 0)
        {
            throw Bad("pickle closes a mark it never opened");
        }
        var at = _marks[^1];
        _marks.RemoveAt(_marks.Count - 1);
        var items = _stack.GetRange(at, _stack.Count - at);
        _stack.RemoveRange(at, _stack.Count - at);
        return items;
    }

    private void CheckSize(long n)
    {
        if (n > MaxContainerItems)
        {
            throw Bad($"a container exceeds {MaxContainerItems} items");
        }
    }

    private List<object?> AsList(object? v) => v as List<object?> ?? throw Bad($"pickle appends to a {Describe(v)}");

    private PyDict AsDict(object? v) => v as PyDict ?? throw Bad($"pickle sets an item of a {Describe(v)}");

    private PyTuple AsTuple(object? v) => v as PyTuple ?? throw Bad($"pickle calls with {Describe(v)} as arguments");

    private PyGlobal AsGlobal(object? v) => v as PyGlobal ?? throw Bad($"pickle calls a {Describe(v)}");

    private string AsString(object? v) => v as string ?? throw Bad($"a global's name is a {Describe(v)}");

    public static string Describe(object? v) => v switch
    {
        null => "None",
        PyGlobal g => $"global {g}",
        PyOpaque o => $"result of {o.Callee}",
        PyTuple => "tuple",
        PyDict => "dict",
        List<object?> => "list",
        string => "string",
        byte[] => "bytes",
        _ => v.GetType().Name,
    };

    private int ReadByte()
    {
        var b = _in.ReadByte();
        return b >= 0 ? b : throw Bad("pickle ends before its STOP opcode");
    }

    private int Length(ulong n) => Length(n > long.MaxValue ? -1 : (long)n);

    private int Length(long n) => n is >= 0 and <= MaxStringBytes ? (int)n : throw Bad($"a string of {n} bytes exceeds the {MaxStringBytes}-byte cap");

    private byte[] ReadBytes(int n)
    {
        var buffer = new byte[n];
        try
        {
            _in.ReadExactly(buffer);
        }
        catch (EndOfStreamException)
        {
            throw Bad("pickle ends inside a value");
        }
        return buffer;
    }

    private string ReadLine()
    {
        var bytes = new List<byte>();
        while (true)
        {
            var b = ReadByte();
            if (b == '\n')
            {
                return Encoding.UTF8.GetString(bytes.ToArray());
            }
            if (bytes.Count >= 4096)
            {
                throw Bad("a text line of the pickle exceeds 4096 bytes");
            }
            bytes.Add((byte)b);
        }
    }

    private string Utf8(byte[] b)
    {
        try
        {
            return new UTF8Encoding(false, true).GetString(b);
        }
        catch (DecoderFallbackException)
        {
            throw Bad("a string is not valid UTF-8");
        }
    }

    private static string Latin1(byte[] b) => Encoding.Latin1.GetString(b);

    /// <summary>Python's LONG1/LONG4: little-endian two's complement; small values as long.</summary>
    private static object Long(byte[] b)
    {
        var v = new BigInteger(b, isUnsigned: false, isBigEndian: false);
        return v >= long.MinValue && v <= long.MaxValue ? (long)v : v;
    }

    private object Long(string text) =>
        BigInteger.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var v)
            ? (v >= long.MinValue && v <= long.MaxValue ? (long)v : v)
            : throw Bad($"'{text}' is not an integer");

    private object IntText(string text) => text switch
    {
        "01" => true, // protocol 0 spells booleans as INT 01 / 00
        "00" => false,
        _ => Long(text),
    };

    private void Memo(object key) => Memo(key is long l ? l : throw Bad("memo index is not an integer"));

    private object? Recall(object key) => Recall(key is long l ? l : throw Bad("memo index is not an integer"));
}
