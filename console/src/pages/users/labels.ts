// Words for values the API sends as codes.
import { t } from '../../i18n.ts';

export function statusLabel(status: 'active' | 'inactive' | 'locked'): string {
  return { active: t('active'), inactive: t('inactive'), locked: t('locked') }[status];
}
