import { PatchworkError } from '@patchwork/errors';

/** 2 for anything the user can fix in their input (like usage errors), 1 for everything else. */
export function exitCodeFor(err: PatchworkError): number {
  switch (err.code) {
    case 'INVALID_ARGUMENT':
    case 'OUT_OF_RANGE':
    case 'FAILED_PRECONDITION':
    case 'NOT_FOUND':
    case 'ALREADY_EXISTS':
    case 'UNAUTHENTICATED':
    case 'PERMISSION_DENIED':
      return 2;
    default:
      return 1;
  }
}
