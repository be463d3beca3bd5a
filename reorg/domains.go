package reorg

import (
	"context"
)

// AddDomainAlias makes every address of old deliver to the same local part
// at new (a merged province's domain): the accounts whose address is at old
// move to new (a local part already taken at new gets the convention's
// next variant, listed in the result), units' mailbox addresses too, and
// mail and logins for anything@old keep working as anything@new.
func (s *Service) AddDomainAlias(ctx context.Context, actor, old, new string) (*Result, error) {
	return s.Run(ctx, KindDomainAliasAdd, actor, Args{Old: old, New: new})
}

// RemoveDomainAlias ends a domain alias: mail to the old domain is refused
// again.
func (s *Service) RemoveDomainAlias(ctx context.Context, actor, old string) error {
	_, err := s.Run(ctx, KindDomainAliasRemove, actor, Args{Old: old})
	return err
}
