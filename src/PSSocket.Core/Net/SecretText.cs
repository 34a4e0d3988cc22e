using System.Runtime.InteropServices;
using System.Security;

namespace PSSocket.Net
{
    /// <summary>Encodes a secret for sending without ever holding it in a string.</summary>
    public static class SecretText
    {
        /// <summary>
        /// The encoded secret, with the terminator appended when one is given. The char copy is
        /// cleared; the caller clears the returned bytes after the send.
        /// </summary>
        public static byte[] Encode(SecureString secret, Encoding encoding, string? terminator)
        {
            if (secret is null)
            {
                throw new ArgumentNullException(nameof(secret));
            }

            if (encoding is null)
            {
                throw new ArgumentNullException(nameof(encoding));
            }

            var ptr = Marshal.SecureStringToGlobalAllocUnicode(secret);
            var chars = new char[secret.Length + (terminator?.Length ?? 0)];
            try
            {
                Marshal.Copy(ptr, chars, 0, secret.Length);
                terminator?.CopyTo(0, chars, secret.Length, terminator.Length);
                return encoding.GetBytes(chars);
            }
            finally
            {
                Array.Clear(chars, 0, chars.Length);
                Marshal.ZeroFreeGlobalAllocUnicode(ptr);
            }
        }
    }
}
