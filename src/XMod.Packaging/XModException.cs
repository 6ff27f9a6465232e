namespace XMod;

/// <summary>
/// An error the user can act on: front ends print its message as one line, without a stack
/// trace. Every project's user-facing errors derive from it.
/// </summary>
public class XModException : Exception
{
    public XModException(string message) : base(message) { }

    public XModException(string message, Exception inner) : base(message, inner) { }
}
