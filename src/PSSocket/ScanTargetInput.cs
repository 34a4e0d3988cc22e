using System.Globalization;

namespace PSSocket
{
    /// <summary>
    /// What a port-check cmdlet (Test-TcpPort, Test-UdpPort) takes as a target: a string (host,
    /// address, range, host:port, URL), a [uri], an [ipaddress], or an object or hashtable with a
    /// host property (ComputerName, DNSHostName, HostName, Host, Server, IPAddress, Address, Name, in
    /// that order of preference, as rows of Import-Csv, Get-ADComputer or a hosts inventory have).
    /// Anything else is an InvalidArgument error naming what was received, never its type name sent to DNS.
    /// </summary>
    internal static class ScanTargetInput
    {
        /// <summary>The properties that name a host, most specific first.</summary>
        public static readonly string[] HostProperties = { "ComputerName", "DNSHostName", "HostName", "Host", "Server", "IPAddress", "Address", "Name" };

        /// <summary>The target text an input item stands for (null or blank: the caller reports a blank entry), or the error.</summary>
        /// <param name="item">The item as bound.</param>
        /// <param name="ports">A hashtable's Port value (objects bind -Port by property name), or null.</param>
        /// <param name="error">Why the item names no target.</param>
        public static string? TextOf(object? item, out string? ports, out PSSocketException? error)
        {
            ports = null;
            error = null;
            object? value = item is PSObject pso ? pso.BaseObject : item;
            switch (value)
            {
                case null:
                    return null;
                case string s:
                    return s;
                case Uri uri:
                    return uri.OriginalString;
                case IPAddress address:
                    return address.ToString();
                case IPEndPoint endPoint:
                    return Endpoints.Format(endPoint);
                case IDictionary table:
                    ports = Text(Lookup(table, "Port"));
                    foreach (string name in HostProperties)
                    {
                        if (Lookup(table, name) is object hostValue)
                        {
                            return HostText(hostValue);
                        }
                    }

                    break;
                default:
                    if (!(value.GetType().IsPrimitive || value is decimal))
                    {
                        var wrapped = PSObject.AsPSObject(item);
                        foreach (string name in HostProperties)
                        {
                            if (wrapped.Properties[name] is PSPropertyInfo property)
                            {
                                return HostText(property.Value);
                            }
                        }
                    }

                    break;
            }

            string shown = TargetEntry.Escape(PSObject.AsPSObject(item).ToString());
            error = new PSSocketException(SocketErrorKind.InvalidArgument,
                $"A {value.GetType().Name} ('{shown}') names no target: give a host name, an address, a range, host:port or a URL, or an object with one of the properties {string.Join(", ", HostProperties)}.",
                target: item);
            return null;
        }

        private static object? Lookup(IDictionary table, string key)
        {
            foreach (DictionaryEntry entry in table)
            {
                if (entry.Key is string k && string.Equals(k, key, StringComparison.OrdinalIgnoreCase))
                {
                    return entry.Value;
                }
            }

            return null;
        }

        // A property holding several addresses: the first one names the host.
        private static string? HostText(object? value)
        {
            value = value is PSObject pso ? pso.BaseObject : value;
            if (value is IEnumerable list and not string)
            {
                foreach (object? first in list)
                {
                    return HostText(first);
                }

                return null;
            }

            return Text(value);
        }

        private static string? Text(object? value)
        {
            value = value is PSObject pso ? pso.BaseObject : value;
            return value switch
            {
                null => null,
                string s => s,
                IEnumerable list when list is not string => string.Join(",", EnumerateText(list)),
                _ => Convert.ToString(value, CultureInfo.InvariantCulture),
            };
        }

        private static System.Collections.Generic.IEnumerable<string> EnumerateText(IEnumerable list)
        {
            foreach (object? o in list)
            {
                if (Text(o) is string s)
                {
                    yield return s;
                }
            }
        }
    }
}
