namespace XMod.Packaging;

/// <summary>Invalid package or checkpoint content: the message names what is wrong (and where).</summary>
public sealed class PackagingException(string message) : XModException(message);
