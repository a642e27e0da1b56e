/**
 * The few printf conversions Linux's procfs files are made of (`include/linux/seq_file.h`, `lib/vsprintf.c`),
 * shared by the formatters beside this file. Each formatter spells its own field widths as Linux's format
 * strings do; these helpers only make the conversions exact:
 *
 *   %*lu / %*ld          dec(value, width)       right-aligned, never truncated when wider
 *   %0*lx                hex(value, width)       lower-case, zero-padded
 *   seq_file_path(esc)   manglePath(path, esc)   each escaped byte becomes `\ooo` (fs/seq_file.c mangle_path)
 *
 * Values are JavaScript numbers holding integers; a fractional or non-finite value is a bug in the caller
 * and throws, because Linux has no way to print one in these fields.
 */

/** `%*lu`: an integer in decimal, right-aligned in `width` columns (wider numbers are printed whole). */
export function dec(value: number, width = 0): string {
  if (!Number.isInteger(value)) throw new RangeError(`not an integer: ${value}`);
  return String(value).padStart(width);
}

/** `%0*lx`: a non-negative integer in lower-case hexadecimal, zero-padded to `width` digits. */
export function hex(value: number, width: number): string {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`not an unsigned integer: ${value}`);
  return value.toString(16).padStart(width, '0');
}

/** fs/seq_file.c `mangle_path`: every character of `escaped` in `path` becomes a backslash and 3 octal digits. */
export function manglePath(path: string, escaped: string): string {
  let out = '';
  for (const c of path) {
    out += escaped.includes(c) ? `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}` : c;
  }
  return out;
}
